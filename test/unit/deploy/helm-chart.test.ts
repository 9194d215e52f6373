// deploy/helm/foreman, rendered by the official helm binary (`helm template`, offline) and each
// manifest validated against the Kubernetes API schemas (kubernetes-models; ServiceMonitor from
// @kubernetes-models/prometheus-operator). ADR 0008 says why these tools.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob } from "kubernetes-models/batch/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { ConfigMap, PersistentVolumeClaim, Service, ServiceAccount } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { DOCKER_CERT_FILES } from "../../../src/agents/docker-connection.js";
import { Env, type EnvError, parseEnv } from "../../../src/config/env.js";

const chartDir = resolve(import.meta.dirname, "../../../deploy/helm/foreman");
const KUBE_VERSION = "1.34.0";

const helm = findHelm();

function findHelm(): string {
  const candidate = process.env.HELM ?? "helm";
  const probe = spawnSync(candidate, ["version", "--template", "{{.Version}}"], { encoding: "utf8" });
  if (probe.status !== 0 || !/^v[34]\./.test(probe.stdout)) {
    throw new Error(
      `helm is needed to render deploy/helm/foreman (${candidate}: ${probe.error?.message ?? (probe.stderr || probe.stdout).trim()}); ` +
        "install it with `sudo bash scripts/ci/install-packages.sh` (or point HELM at a helm 3 or 4 binary)",
    );
  }
  return candidate;
}

type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: unknown;
  data?: Record<string, string>;
};

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "batch/v1/CronJob": CronJob,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

/** `helm template` with these values; the manifests, or helm's error. */
function helmTemplate(values: object): { manifests: Manifest[] } | { error: string } {
  const dir = mkdtempSync(join(tmpdir(), "foreman-helm-"));
  const valuesFile = join(dir, "values.json");
  writeFileSync(valuesFile, JSON.stringify(values));
  const args = ["template", "foreman", chartDir, "--namespace", "foreman", "--kube-version", KUBE_VERSION];
  const run = spawnSync(helm, [...args, "--api-versions", "monitoring.coreos.com/v1", "-f", valuesFile], {
    encoding: "utf8",
  });
  if (run.status !== 0) return { error: run.stderr };
  const manifests = parseAllDocuments(run.stdout)
    .map((document) => document.toJS() as Manifest | null)
    .filter((manifest): manifest is Manifest => manifest !== null);
  return { manifests };
}

function render(values: object): Manifest[] {
  const result = helmTemplate(values);
  if ("error" in result) throw new Error(result.error);
  return result.manifests;
}

function renderError(values: object): string {
  const result = helmTemplate(values);
  if (!("error" in result)) throw new Error("helm template succeeded");
  return result.error;
}

/** Each manifest checked against its API schema; one line per problem. */
function validate(manifests: Manifest[]): string[] {
  return manifests.flatMap((manifest) => {
    const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
    if (Model === undefined) return [`${manifest.apiVersion} ${manifest.kind}: no schema in the test`];
    try {
      new Model(manifest as never).validate();
      return [];
    } catch (error) {
      return [`${manifest.kind} ${manifest.metadata.name}: ${(error as Error).message}`];
    }
  });
}

const find = <T = Manifest>(manifests: Manifest[], kind: string): T => {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as T;
};

interface Container {
  name: string;
  ports: { name: string; containerPort: number }[];
  env: { name: string; value?: string }[];
  envFrom: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  volumeMounts: { name: string; mountPath: string; subPath?: string }[];
}
interface Volume {
  name: string;
  hostPath?: { path: string };
  secret?: { secretName: string; items: { key: string; path: string }[] };
  nfs?: unknown;
}
interface DeploymentShape extends Manifest {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: { containers: Container[]; volumes: Volume[] } };
  };
}

const minimal = { github: { appId: "12345" }, secrets: { existingSecret: "foreman-secrets" } };
const ALL_FILE_SECRETS = {
  PRIVATE_KEY: "private-key.pem",
  WEBHOOK_SECRET: "webhook-secret",
  DATABASE_URL: "database-url",
  CHECKPOINT_SIGNING_KEY: "checkpoint-signing-key.pem",
  CHECKPOINT_PUBLIC_KEY: "checkpoint-public-key.pem",
  CHANGE_HOOK_SECRET: "change-hook-secret",
};
const full = {
  replicaCount: 3,
  github: { appId: "12345", gheHost: "github.example.com" },
  secrets: { existingSecret: "foreman-secrets", files: ALL_FILE_SECRETS },
  env: { PUBLIC_URL: "https://foreman.example.com", PRODUCTION_MODE: true, ALLOWED_REPOS: "acme/api" },
  agents: {
    enabled: true,
    docker: { host: "tcp://docker.internal:2376", tlsSecret: "foreman-docker-tls" },
    sharedVolume: { nfs: { server: "nfs.internal", path: "/exports/foreman" } },
    apiKeysSecret: "foreman-agent-keys",
  },
  metrics: {
    tokenSecret: { name: "foreman-metrics", key: "token" },
    serviceMonitor: { enabled: true, labels: { release: "prom" } },
  },
};

const containerOf = (deployment: DeploymentShape): Container => deployment.spec.template.spec.containers[0]!;
const configOf = (manifests: Manifest[]): Record<string, string> => find(manifests, "ConfigMap").data!;

describe("the schema check", () => {
  it("rejects a manifest that breaks its schema", () => {
    const deployment = find<DeploymentShape>(render(minimal), "Deployment");
    const broken = structuredClone(deployment) as unknown as { spec: { replicas: unknown; selector?: unknown } };
    broken.spec.replicas = "two";
    delete broken.spec.selector;
    const [problem] = validate([broken as unknown as Manifest]);
    expect(problem).toMatch(/replicas must be integer/);
    expect(problem).toMatch(/must have required property selector/);
  });
});

describe("deploy/helm/foreman", () => {
  it("passes helm lint --strict", () => {
    const dir = mkdtempSync(join(tmpdir(), "foreman-helm-"));
    writeFileSync(join(dir, "values.json"), JSON.stringify(full));
    const output = execFileSync(helm, ["lint", "--strict", chartDir, "-f", join(dir, "values.json")], {
      encoding: "utf8",
    });
    expect(output).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  for (const [name, values] of [
    ["the least values", minimal],
    ["every option", full],
  ] as const) {
    it(`renders manifests the Kubernetes API schemas accept, with ${name}`, () => {
      expect(validate(render(values))).toEqual([]);
    });
  }

  it("runs replicas behind a disruption budget and probes /healthz and /readyz on the container's port", () => {
    const manifests = render(minimal);
    expect(manifests.map((manifest) => manifest.kind).sort()).toEqual([
      "ConfigMap",
      "CronJob",
      "Deployment",
      "PersistentVolumeClaim",
      "PodDisruptionBudget",
      "Service",
      "ServiceAccount",
    ]);
    const deployment = find<DeploymentShape>(manifests, "Deployment");
    expect(deployment.spec.replicas).toBe(2);
    const podLabels = deployment.spec.template.metadata.labels;
    expect(deployment.spec.selector.matchLabels).toEqual(podLabels);

    const pdb = find<Manifest & { spec: { maxUnavailable: number; selector: { matchLabels: object } } }>(
      manifests,
      "PodDisruptionBudget",
    );
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: podLabels } });
    const service = find<Manifest & { spec: { selector: object; ports: { targetPort: string }[] } }>(
      manifests,
      "Service",
    );
    expect(service.spec.selector).toEqual(podLabels);

    const container = containerOf(deployment);
    const port = container.ports.find((entry) => entry.name === "http")!;
    expect(port.containerPort).toBe(Number(configOf(manifests).PORT));
    expect(service.spec.ports[0]!.targetPort).toBe("http");
    expect(container.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
  });

  it("passes secrets as NAME_FILE, each a file of the mounted Secret", () => {
    const manifests = render(full);
    const deployment = find<DeploymentShape>(manifests, "Deployment");
    const container = containerOf(deployment);
    const secretsMount = container.volumeMounts.find((mount) => mount.name === "secrets")!;
    const volume = deployment.spec.template.spec.volumes.find((entry) => entry.name === "secrets")!;
    expect(volume.secret!.secretName).toBe("foreman-secrets");
    const fileEnv = container.env.filter((entry) => entry.name.endsWith("_FILE"));
    expect(fileEnv.map((entry) => entry.name).sort()).toEqual(
      Object.keys(ALL_FILE_SECRETS)
        .map((name) => `${name}_FILE`)
        .sort(),
    );
    for (const entry of fileEnv) {
      const name = entry.name.replace(/_FILE$/, "");
      expect(entry.value).toBe(`${secretsMount.mountPath}/${name}`);
      expect(volume.secret!.items).toContainEqual({
        key: ALL_FILE_SECRETS[name as keyof typeof ALL_FILE_SECRETS],
        path: name,
      });
    }
    // No secret value in the ConfigMap or the pod's plain environment.
    for (const name of Object.keys(ALL_FILE_SECRETS)) {
      expect(configOf(manifests)).not.toHaveProperty(name);
      expect(container.env.map((entry) => entry.name)).not.toContain(name);
    }
  });

  it("allows exactly the NAME_FILE secrets src/config/env.ts reads", () => {
    // Which names env.ts reads from NAME_FILE: those whose unreadable file it reports.
    const candidates = [...Object.keys(Env.shape), "METRICS_TOKEN", "ANTHROPIC_API_KEY", "OPENAI_API_KEY"];
    const missing = "/nonexistent/foreman-secret";
    const readByEnv = candidates.filter((name) => {
      try {
        parseEnv({ [`${name}_FILE`]: missing, AGENTS_ENABLED: "false" });
        return false;
      } catch (error) {
        return (error as EnvError).problems.some((problem) =>
          problem.startsWith(`${name}_FILE=${missing}: cannot read`),
        );
      }
    });
    expect(readByEnv.length).toBeGreaterThan(0);
    // METRICS_TOKEN comes from metrics.tokenSecret (the ServiceMonitor reads the same Secret), never secrets.files.
    const fileSecrets = readByEnv.filter((name) => name !== "METRICS_TOKEN");
    expect(
      validate(
        render({
          ...minimal,
          secrets: { ...minimal.secrets, files: Object.fromEntries(fileSecrets.map((n) => [n, n])) },
        }),
      ),
    ).toEqual([]);

    const refused = renderError({
      ...minimal,
      secrets: { ...minimal.secrets, files: { ...ALL_FILE_SECRETS, NOT_A_SECRET: "x" } },
    });
    const listed = /file secrets are ([A-Z_, ]+)/.exec(refused)![1]!.split(", ");
    expect(listed.sort()).toEqual(fileSecrets.sort());
    expect(
      renderError({ ...minimal, secrets: { ...minimal.secrets, files: { ...ALL_FILE_SECRETS, METRICS_TOKEN: "t" } } }),
    ).toMatch(/secrets\.files\.METRICS_TOKEN: set metrics\.tokenSecret instead/);
  });

  it("mounts no Docker socket or host path, and runs without agents by default", () => {
    const manifests = render(minimal);
    const deployment = find<DeploymentShape>(manifests, "Deployment");
    expect(deployment.spec.template.spec.volumes.filter((volume) => volume.hostPath)).toEqual([]);
    expect(JSON.stringify(deployment)).not.toContain("docker.sock");
    expect(configOf(manifests).AGENTS_ENABLED).toBe("false");
    expect(configOf(manifests)).not.toHaveProperty("DOCKER_HOST");
  });

  it("reaches the agents' Docker engine over TCP with TLS, its certificates where DOCKER_CERT_PATH says", () => {
    const manifests = render(full);
    const config = configOf(manifests);
    expect(config).toMatchObject({
      AGENTS_ENABLED: "true",
      DOCKER_HOST: "tcp://docker.internal:2376",
      DOCKER_TLS_VERIFY: "1",
    });
    const deployment = find<DeploymentShape>(manifests, "Deployment");
    const container = containerOf(deployment);
    const volumes = deployment.spec.template.spec.volumes;
    const tls = volumes.find((volume) => volume.secret?.secretName === "foreman-docker-tls")!;
    expect(container.volumeMounts.find((mount) => mount.name === tls.name)!.mountPath).toBe(config.DOCKER_CERT_PATH);
    expect(tls.secret!.items.map((item) => item.path).sort()).toEqual(Object.values(DOCKER_CERT_FILES).sort());

    // Workspaces and egress files on the shared volume, at the paths Foreman is told.
    const shared = volumes.find((volume) => volume.nfs)!;
    const mountOf = (subPath: string) =>
      container.volumeMounts.find((mount) => mount.name === shared.name && mount.subPath === subPath)!.mountPath;
    expect(mountOf("workspaces")).toBe(config.WORKSPACE_DIR);
    expect(mountOf("egress")).toBe(config.EGRESS_DIR);
    expect(container.envFrom).toContainEqual({ secretRef: { name: "foreman-agent-keys" } });
    expect(config).toMatchObject({
      GHE_HOST: "github.example.com",
      PRODUCTION_MODE: "true",
      ALLOWED_REPOS: "acme/api",
    });
  });

  it("has a ServiceMonitor only when asked, scraping /metrics on the Service's port with the token", () => {
    expect(render(minimal).some((manifest) => manifest.kind === "ServiceMonitor")).toBe(false);
    const manifests = render(full);
    const monitor = find<Manifest & { spec: { selector: object; endpoints: Record<string, unknown>[] } }>(
      manifests,
      "ServiceMonitor",
    );
    const service = find<Manifest & { spec: { ports: { name: string }[] } }>(manifests, "Service");
    expect(monitor.metadata.labels).toMatchObject({ release: "prom" });
    expect(monitor.spec.selector).toEqual({
      matchLabels: find<DeploymentShape>(manifests, "Deployment").spec.selector.matchLabels,
    });
    expect(monitor.spec.endpoints).toEqual([
      {
        port: service.spec.ports[0]!.name,
        path: "/metrics",
        interval: "30s",
        authorization: { type: "Bearer", credentials: { name: "foreman-metrics", key: "token" } },
      },
    ]);
    const container = containerOf(find<DeploymentShape>(manifests, "Deployment"));
    expect(container.env).toContainEqual({
      name: "METRICS_TOKEN",
      valueFrom: { secretKeyRef: { name: "foreman-metrics", key: "token" } },
    });
  });

  it("runs foreman verify daily with the service's settings, secrets and evidence files, and no Docker", () => {
    const manifests = render(full);
    type CronJobShape = Manifest & {
      spec: {
        schedule: string;
        jobTemplate: {
          spec: {
            template: {
              metadata: { labels: Record<string, string> };
              spec: { containers: (Container & { command: string[] })[]; volumes: Volume[] };
            };
          };
        };
      };
    };
    const cronJob = find<CronJobShape>(manifests, "CronJob");
    const pod = cronJob.spec.jobTemplate.spec.template;
    const verify = pod.spec.containers[0]!;
    const deployment = find<DeploymentShape>(manifests, "Deployment");
    const service = containerOf(deployment);
    expect(cronJob.spec.schedule).toMatch(/^\S+ \S+ \* \* \*$/);
    expect(verify.command).toEqual(["node", "dist/cli/main.js", "verify"]);
    expect(verify.envFrom).toEqual(service.envFrom.filter((source) => "configMapRef" in source));
    expect(verify.env).toContainEqual({ name: "AGENTS_ENABLED", value: "false" });
    expect(verify.env.filter((entry) => entry.name !== "AGENTS_ENABLED")).toEqual(
      service.env.filter((entry) => entry.name !== "REPLICA_ID"),
    );
    const artifactsPath = configOf(manifests).ARTIFACTS_DIR;
    const artifactsOf = (mounts: Container["volumeMounts"], volumes: Volume[]) =>
      volumes.find((volume) => volume.name === mounts.find((mount) => mount.mountPath === artifactsPath)!.name);
    expect(artifactsOf(verify.volumeMounts, pod.spec.volumes)).toEqual(
      artifactsOf(service.volumeMounts, deployment.spec.template.spec.volumes),
    );
    expect(pod.spec.volumes.find((volume) => volume.name === "secrets")).toEqual(
      deployment.spec.template.spec.volumes.find((volume) => volume.name === "secrets"),
    );
    // Not one of the service's pods: the Service and the disruption budget do not select it.
    expect(pod.metadata.labels).not.toMatchObject(deployment.spec.selector.matchLabels);
    expect(render({ ...minimal, verify: { enabled: false } }).some((manifest) => manifest.kind === "CronJob")).toBe(
      false,
    );
  });

  it("refuses values that cannot work, naming the one to set", () => {
    expect(renderError({ secrets: { existingSecret: "s" } })).toMatch(/github\.appId is required/);
    expect(renderError({ github: { appId: "1" } })).toMatch(/secrets\.existingSecret is required/);
    expect(renderError({ ...minimal, agents: { enabled: true } })).toMatch(/agents\.docker\.host is required/);
    expect(renderError({ ...minimal, agents: { enabled: true, docker: { host: "tcp://d:2376" } } })).toMatch(
      /agents\.docker\.tlsSecret is required/,
    );
    expect(
      renderError({ ...minimal, agents: { enabled: true, docker: { host: "tcp://d:2376", tlsSecret: "t" } } }),
    ).toMatch(/agents\.sharedVolume is required/);
    expect(renderError({ ...minimal, env: { WEBHOOK_SECRET: "x" } })).toMatch(/env\.WEBHOOK_SECRET: a secret/);
    expect(renderError({ ...minimal, env: { PORT: "8080" } })).toMatch(/env\.PORT: set by the chart/);
  });
});

describe("the Kubernetes runner (agents.runner: kubernetes)", () => {
  const kubernetes = {
    ...minimal,
    agents: {
      enabled: true,
      runner: "kubernetes",
      kubernetes: { namespace: "foreman-agents", egressProxy: { url: "http://10.96.0.20:3128" } },
      autoscaling: { enabled: true, maxReplicas: 8 },
      apiKeysSecret: "foreman-agent-keys",
    },
  };

  it("renders manifests the schemas accept, with a Role, its binding and the queue-depth HPA", () => {
    const manifests = render(kubernetes);
    expect(validate(manifests)).toEqual([]);
    expect(manifests.map((manifest) => manifest.kind)).toEqual(
      expect.arrayContaining(["Role", "RoleBinding", "HorizontalPodAutoscaler"]),
    );
  });

  it("grants exactly what the runner does in the agents' namespace", () => {
    const role = find<Manifest & { metadata: { namespace: string }; rules: unknown[] }>(render(kubernetes), "Role");
    expect(role.metadata.namespace).toBe("foreman-agents");
    expect(role.rules).toEqual([
      { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "create", "delete"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "create", "update", "delete"] },
      { apiGroups: ["networking.k8s.io"], resources: ["networkpolicies"], verbs: ["get", "list", "create", "delete"] },
    ]);
    const binding = find<Manifest & { subjects: { name: string; namespace: string }[] }>(
      render(kubernetes),
      "RoleBinding",
    );
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "foreman", namespace: "foreman" }]);
  });

  it("sets RUNNER=kubernetes, this pod's own URL and its service account token, and no Docker settings", () => {
    const manifests = render(kubernetes);
    const config = configOf(manifests);
    expect(config).toMatchObject({
      RUNNER: "kubernetes",
      KUBERNETES_NAMESPACE: "foreman-agents",
      KUBERNETES_FOREMAN_SELECTOR: "app.kubernetes.io/name=foreman,app.kubernetes.io/instance=foreman",
      KUBERNETES_EGRESS_PROXY_SELECTOR: "app.kubernetes.io/name=foreman-egress-proxy",
      KUBERNETES_EGRESS_PROXY_URL: "http://10.96.0.20:3128",
    });
    expect(config.DOCKER_HOST).toBeUndefined();
    const deployment = find<DeploymentShape>(manifests, "Deployment");
    expect(
      (deployment.spec.template.spec as { automountServiceAccountToken?: boolean }).automountServiceAccountToken,
    ).toBe(true);
    expect(containerOf(deployment).env).toEqual(
      expect.arrayContaining([
        { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "KUBERNETES_FOREMAN_URL", value: "http://$(POD_IP):3000" },
      ]),
    );
  });

  it("scales on the queued-jobs metric Foreman exports", () => {
    const hpa = find<
      Manifest & { spec: { maxReplicas: number; metrics: { external: { metric: { name: string } } }[] } }
    >(render(kubernetes), "HorizontalPodAutoscaler");
    expect(hpa.spec.maxReplicas).toBe(8);
    const metric = hpa.spec.metrics[0]!.external.metric.name;
    expect(metric).toBe("foreman_agent_jobs_queued");
    expect(readFileSync(join(process.cwd(), "src/metrics/foreman-metrics.ts"), "utf8")).toContain(`"${metric}"`);
  });

  it("keeps the service account token unmounted with the Docker runner, and refuses an unknown runner", () => {
    const deployment = find<DeploymentShape>(render(minimal), "Deployment");
    expect(
      (deployment.spec.template.spec as { automountServiceAccountToken?: boolean }).automountServiceAccountToken,
    ).toBe(false);
    expect(renderError({ ...minimal, agents: { enabled: true, runner: "nomad" } })).toContain(
      "agents.runner must be docker or kubernetes",
    );
  });
});
