import { describe, expect, it } from "vitest";
import {
  buildKubernetesJobName,
  buildKubernetesJobObjects,
  buildLabelValue,
  TOKEN_MOUNT,
} from "../../../../src/agents/kubernetes/kubernetes-job-spec.js";
import { readContainerSpec } from "../../../../src/agents/kubernetes/read-container-spec.js";
import { buildSpec, claude, script, settings, validateKubernetesObject } from "./kubernetes-fixtures.js";

const tokens = { download: "dl-token-0123456789", upload: "up-token-0123456789" };

function build(spec = buildSpec(claude, { egress: { network: "k8s", proxyUrl: "http://10.9.9.9:3128", dns: [] } })) {
  const agent = readContainerSpec(spec);
  if (!agent.ok) throw new Error(agent.reason);
  return buildKubernetesJobObjects({ agent: agent.value, settings, timeoutSeconds: 900 }, tokens);
}

describe("buildKubernetesJobObjects", () => {
  it("builds a Job, NetworkPolicy and Secret that the Kubernetes schemas accept", () => {
    const objects = build();
    for (const object of [objects.job, objects.networkPolicy, objects.secret]) {
      expect(() => validateKubernetesObject(object)).not.toThrow();
    }
    // The check is real: a wrong type is refused.
    expect(() =>
      validateKubernetesObject({ ...objects.job, spec: { ...objects.job.spec, activeDeadlineSeconds: "soon" } }),
    ).toThrow();
  });

  it("gives the agent the Docker sandbox: non-root numeric user, read-only root, no capabilities, RuntimeDefault seccomp", () => {
    const pod = build().job.spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const all = [...pod.initContainers!, ...pod.containers];
    expect(all.map((container) => container.name)).toEqual(["fetch-workspace", "return-workspace", "agent"]);
    for (const container of all) {
      expect(container.securityContext).toEqual({
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
    }
    const agent = pod.containers[0]!;
    expect(agent.image).toBe("foreman-agents/claude-code:latest");
    expect(agent.resources).toEqual({
      requests: { memory: `${claude.memoryMb}Mi`, cpu: `${claude.cpus! * 1000}m` },
      limits: { memory: `${claude.memoryMb}Mi`, cpu: `${claude.cpus! * 1000}m` },
    });
    expect(agent.volumeMounts).toContainEqual({ name: "inputs", mountPath: "/foreman", readOnly: true });
    expect(build().job.spec).toMatchObject({ activeDeadlineSeconds: 900, backoffLimit: 0 });
    // The return sidecar is a native sidecar: it outlives the agent and is stopped after it.
    expect(pod.initContainers![1]!.restartPolicy).toBe("Always");
  });

  it("puts no token in the pod spec or any environment; only the helpers mount the token Secret", () => {
    const { job, secret } = build();
    const text = JSON.stringify(job);
    expect(text).not.toContain(tokens.download);
    expect(text).not.toContain(tokens.upload);
    expect(secret.stringData).toEqual({ [TOKEN_MOUNT.download]: tokens.download, [TOKEN_MOUNT.upload]: tokens.upload });
    const pod = job.spec!.template.spec!;
    const mountsTokens = (container: { volumeMounts?: { name: string }[] }) =>
      (container.volumeMounts ?? []).some((mount) => mount.name === "tokens");
    expect(pod.initContainers!.every(mountsTokens)).toBe(true);
    expect(mountsTokens(pod.containers[0]!)).toBe(false);
    expect(pod.volumes).toContainEqual({
      name: "tokens",
      secret: { secretName: "foreman-job-j1", defaultMode: 0o400 },
    });
  });

  it("lets an egress job reach only Foreman's archive port and the egress proxy, and nothing reach it", () => {
    expect(build().networkPolicy.spec).toEqual({
      podSelector: { matchLabels: { "foreman.job": "j1" } },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "foreman" } } }],
          ports: [{ protocol: "TCP", port: 3000 }],
        },
        {
          to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "foreman-egress-proxy" } } }],
          ports: [{ protocol: "TCP", port: 3128 }],
        },
      ],
    });
  });

  it("gives a network: none job no egress but Foreman's archive port", () => {
    const objects = build(buildSpec(script, { script: "true" }));
    expect(objects.networkPolicy.spec!.egress).toEqual([
      {
        to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "foreman" } } }],
        ports: [{ protocol: "TCP", port: 3000 }],
      },
    ]);
    expect(objects.job.spec!.template.spec!.containers[0]!.command).toEqual(["sh"]);
  });
});

it("lets the job reach a Foreman outside the cluster by its address range instead of a selector", () => {
  const agent = readContainerSpec(buildSpec(script, { script: "true" }));
  if (!agent.ok) throw new Error(agent.reason);
  const objects = buildKubernetesJobObjects(
    { agent: agent.value, settings: { ...settings, foremanCidr: "172.18.0.1/32" }, timeoutSeconds: 60 },
    tokens,
  );
  expect(() => validateKubernetesObject(objects.networkPolicy)).not.toThrow();
  expect(objects.networkPolicy.spec!.egress).toEqual([
    { to: [{ ipBlock: { cidr: "172.18.0.1/32" } }], ports: [{ protocol: "TCP", port: 3000 }] },
  ]);
});

describe("buildKubernetesJobName", () => {
  it("is deterministic and a DNS label for any job id", () => {
    expect(buildKubernetesJobName("j1")).toBe("foreman-job-j1");
    const odd = buildKubernetesJobName("Job_With.Odd/Chars");
    expect(odd).toBe(buildKubernetesJobName("Job_With.Odd/Chars"));
    expect(odd).toMatch(/^[a-z0-9]([a-z0-9-]{0,50}[a-z0-9])?$/);
    expect(buildKubernetesJobName("a".repeat(200)).length).toBeLessThanOrEqual(52);
    expect(buildLabelValue("x".repeat(100)).length).toBeLessThanOrEqual(63);
  });
});
