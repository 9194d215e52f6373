/**
 * Builds the Kubernetes objects of one agent job: the Job (the same sandbox as the Docker
 * container), its NetworkPolicy and the Secret holding its two single-use archive tokens. Pure:
 * every field a reviewer should see is decided here, and tests validate each object against
 * the Kubernetes OpenAPI schemas (kubernetes-models). See docs/kubernetes.md and ADR 0013.
 *
 * The pod, in order: `fetch-workspace` (init) downloads the job's archive from Foreman and
 * unpacks /workspace and /foreman; `return-workspace` (a native sidecar, Kubernetes ≥ 1.29) waits
 * and, when the agent has exited and the kubelet stops it, uploads /workspace and /foreman/out
 * back; `agent` is the profile's container. Only the two helpers mount the token Secret: the
 * agent's container has no token in its spec, its environment or its file system.
 */
import { createHash } from "node:crypto";
import type { V1Container, V1Job, V1NetworkPolicy, V1NetworkPolicyEgressRule, V1Secret } from "@kubernetes/client-node";
import { CONTAINER_PATHS } from "../job-spec.js";
import type { AgentContainer } from "./read-container-spec.js";

/** The label every Foreman object carries, and its value: orphans are found by it. */
export const MANAGED_BY = Object.freeze({ key: "app.kubernetes.io/managed-by", value: "foreman" } as const);

/** Labels (selectable, sanitised) and annotations (exact ids) of a job's objects. */
export const KUBERNETES_JOB_KEYS = Object.freeze({
  jobLabel: "foreman.job",
  taskLabel: "foreman.task",
  replicaLabel: "foreman.replica",
  jobAnnotation: "foreman.dev/job-id",
  taskAnnotation: "foreman.dev/task-id",
  replicaAnnotation: "foreman.dev/replica",
  profileAnnotation: "foreman.dev/profile",
} as const);

/** The pod's container names. */
export const POD_CONTAINERS = Object.freeze({
  fetch: "fetch-workspace",
  upload: "return-workspace",
  agent: "agent",
} as const);

/** Where the helpers find the tokens (the Secret's keys, mounted read-only). */
export const TOKEN_MOUNT = Object.freeze({
  dir: "/var/run/foreman",
  download: "download-token",
  upload: "upload-token",
} as const);

/** A selector of pods, as `key=value` pairs. */
export type PodLabels = Readonly<Record<string, string>>;

/** The site's settings for agent Jobs (from the environment, through src/config/env.ts). */
export interface KubernetesJobSettings {
  readonly namespace: string;
  /** Foreman's own address as the job's pod reaches it (the archive endpoints), e.g. `http://10.0.0.5:3000`. */
  readonly foremanUrl: string;
  /** Foreman's pods and port, the one destination of every job's network policy (the archive). */
  readonly foremanSelector: PodLabels;
  readonly foremanPort: number;
  /** Instead of the selector: Foreman's address range, when it runs outside the cluster (e.g. the kind script). */
  readonly foremanCidr?: string;
  /** The egress proxy's pods and port, the only other destination of `network: egress` jobs. */
  readonly egressProxySelector: PodLabels;
  readonly egressProxyPort: number;
  /** The helpers' image: any with `sh`, `tar` and `wget` (busybox). */
  readonly helperImage: string;
  /** How long the return sidecar may take to upload once the agent has exited. */
  readonly uploadGraceSeconds: number;
  /** Disk an emptyDir (the workspace, out) may use, in MiB (WORKSPACE_MAX_MB). */
  readonly workspaceMaxMb: number;
}

/** What one Job is built from. */
export interface KubernetesJobInput {
  readonly agent: AgentContainer;
  readonly settings: KubernetesJobSettings;
  readonly timeoutSeconds: number;
}

/** The objects of one job, in the order they are created. */
export interface KubernetesJobObjects {
  readonly networkPolicy: V1NetworkPolicy;
  readonly secret: V1Secret;
  readonly job: V1Job;
}

const NAME_PREFIX = "foreman-job-";

/**
 * The deterministic name of a job's objects: `foreman-job-<id>` when the id is a DNS label
 * already, else a readable part plus a hash of the exact id (the same id always gives the same name).
 */
export function buildKubernetesJobName(jobId: string): string {
  const plain = jobId.toLowerCase();
  if (plain === jobId && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(jobId) && NAME_PREFIX.length + jobId.length <= 52) {
    return `${NAME_PREFIX}${jobId}`;
  }
  const hash = createHash("sha256").update(jobId).digest("hex").slice(0, 10);
  const readable = plain
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 28);
  return `${NAME_PREFIX}${readable === "" ? "" : `${readable}-`}${hash}`;
}

/** A label value Kubernetes accepts (≤ 63 characters, alphanumeric ends), hashed when it must change. */
export function buildLabelValue(value: string): string {
  if (/^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/.test(value)) return value;
  const hash = createHash("sha256").update(value).digest("hex").slice(0, 10);
  const readable = value
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "")
    .slice(0, 40);
  return readable === "" ? hash : `${readable}-${hash}`;
}

/** The label selector of every Foreman job object, optionally of one replica. */
export function buildJobSelector(options: { replica?: string } = {}): string {
  const parts = [`${MANAGED_BY.key}=${MANAGED_BY.value}`, KUBERNETES_JOB_KEYS.jobLabel];
  if (options.replica !== undefined)
    parts.push(`${KUBERNETES_JOB_KEYS.replicaLabel}=${buildLabelValue(options.replica)}`);
  return parts.join(",");
}

/** The archive endpoints of one job on Foreman (src/http/job-archive-route.ts). */
export function buildArchiveUrls(foremanUrl: string, jobId: string): { workspace: string; result: string } {
  const base = `${foremanUrl.replace(/\/+$/, "")}/agent-jobs/${encodeURIComponent(jobId)}`;
  return { workspace: `${base}/workspace`, result: `${base}/result` };
}

/** Builds the NetworkPolicy, Secret and Job of one agent job. */
export function buildKubernetesJobObjects(
  input: KubernetesJobInput,
  tokens: { readonly download: string; readonly upload: string },
): KubernetesJobObjects {
  const { agent, settings } = input;
  const name = buildKubernetesJobName(agent.jobId);
  const metadata = {
    name,
    namespace: settings.namespace,
    labels: buildLabels(agent),
    annotations: {
      [KUBERNETES_JOB_KEYS.jobAnnotation]: agent.jobId,
      [KUBERNETES_JOB_KEYS.taskAnnotation]: agent.taskId,
      [KUBERNETES_JOB_KEYS.replicaAnnotation]: agent.replica,
      [KUBERNETES_JOB_KEYS.profileAnnotation]: agent.profile,
    },
  };
  return {
    networkPolicy: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata,
      spec: {
        podSelector: { matchLabels: { [KUBERNETES_JOB_KEYS.jobLabel]: buildLabelValue(agent.jobId) } },
        policyTypes: ["Ingress", "Egress"],
        // Nothing reaches the job's pod.
        ingress: [],
        egress: buildEgressRules(agent.network, settings),
      },
    },
    secret: {
      apiVersion: "v1",
      kind: "Secret",
      metadata,
      type: "Opaque",
      stringData: { [TOKEN_MOUNT.download]: tokens.download, [TOKEN_MOUNT.upload]: tokens.upload },
    },
    job: {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata,
      spec: {
        backoffLimit: 0,
        // The Job is removed by Foreman once read; this only bounds what a dead Foreman leaves behind.
        ttlSecondsAfterFinished: 3600,
        activeDeadlineSeconds: Math.max(1, Math.ceil(input.timeoutSeconds)),
        template: {
          metadata: { labels: buildLabels(agent), annotations: metadata.annotations },
          spec: buildPodSpec(input, name),
        },
      },
    },
  };
}

function buildLabels(agent: AgentContainer): Record<string, string> {
  return {
    [MANAGED_BY.key]: MANAGED_BY.value,
    [KUBERNETES_JOB_KEYS.jobLabel]: buildLabelValue(agent.jobId),
    [KUBERNETES_JOB_KEYS.taskLabel]: buildLabelValue(agent.taskId),
    [KUBERNETES_JOB_KEYS.replicaLabel]: buildLabelValue(agent.replica),
  };
}

// Every job reaches Foreman's archive port (its files come and go that way, and the helpers share
// the pod's network); `egress` adds the proxy; `bridge` (operators only) is the whole network.
function buildEgressRules(
  network: AgentContainer["network"],
  settings: KubernetesJobSettings,
): V1NetworkPolicyEgressRule[] {
  if (network === "bridge") return [{}];
  const foreman: V1NetworkPolicyEgressRule = {
    to:
      settings.foremanCidr === undefined
        ? [{ podSelector: { matchLabels: { ...settings.foremanSelector } } }]
        : [{ ipBlock: { cidr: settings.foremanCidr } }],
    ports: [{ protocol: "TCP", port: settings.foremanPort }],
  };
  if (network === "none") return [foreman];
  return [
    foreman,
    {
      to: [{ podSelector: { matchLabels: { ...settings.egressProxySelector } } }],
      ports: [{ protocol: "TCP", port: settings.egressProxyPort }],
    },
  ];
}

function buildPodSpec(input: KubernetesJobInput, name: string): NonNullable<V1Job["spec"]>["template"]["spec"] {
  const { agent, settings } = input;
  const urls = buildArchiveUrls(settings.foremanUrl, agent.jobId);
  const diskLimit = `${settings.workspaceMaxMb}Mi`;
  const tmpfs = agent.tmpfs.map((mount, index) => ({ ...mount, volume: `tmpfs-${index}` }));
  // The helpers see the job's files as one tree under /foreman (the archive's layout, see
  // job-archives.ts): the inputs, with the workspace and out volumes mounted inside it.
  const helperMounts = [
    { name: "inputs", mountPath: CONTAINER_PATHS.foremanDir },
    { name: "workspace", mountPath: `${CONTAINER_PATHS.foremanDir}/workspace` },
    { name: "out", mountPath: CONTAINER_PATHS.outDir },
    { name: "tokens", mountPath: TOKEN_MOUNT.dir, readOnly: true },
    { name: "helper-tmp", mountPath: "/tmp" },
  ];
  const auth = (file: string) => `--header "Authorization: Bearer $(cat ${TOKEN_MOUNT.dir}/${file})"`;
  const fetch: V1Container = {
    ...buildHelper(settings, agent),
    name: POD_CONTAINERS.fetch,
    command: ["sh", "-c"],
    args: [
      `set -e; wget -q -O /tmp/workspace.tar ${auth(TOKEN_MOUNT.download)} "$FOREMAN_ARCHIVE_URL"; ` +
        `tar -x -o -f /tmp/workspace.tar -C ${CONTAINER_PATHS.foremanDir}; rm -f /tmp/workspace.tar`,
    ],
    env: [{ name: "FOREMAN_ARCHIVE_URL", value: urls.workspace }],
    volumeMounts: helperMounts,
  };
  // A native sidecar: started before the agent, stopped (SIGTERM) once the agent has exited; the trap uploads.
  const upload: V1Container = {
    ...buildHelper(settings, agent),
    name: POD_CONTAINERS.upload,
    restartPolicy: "Always",
    command: ["sh", "-c"],
    args: [
      `send() { cd ${CONTAINER_PATHS.foremanDir} && tar -c -f /tmp/result.tar workspace out && wget -q -O /dev/null ${auth(TOKEN_MOUNT.upload)} ` +
        '--post-file=/tmp/result.tar "$FOREMAN_RESULT_URL"; exit 0; }; trap send TERM; while true; do sleep 1; done',
    ],
    env: [{ name: "FOREMAN_RESULT_URL", value: urls.result }],
    volumeMounts: helperMounts,
  };
  const agentContainer: V1Container = {
    name: POD_CONTAINERS.agent,
    image: agent.image,
    imagePullPolicy: "IfNotPresent",
    command: [...agent.command],
    args: [...agent.args],
    workingDir: CONTAINER_PATHS.workspace,
    env: agent.env.map((variable) => ({ name: variable.name, value: variable.value })),
    securityContext: buildContainerSecurity(agent),
    resources: buildResources(agent.memoryBytes, agent.cpus),
    volumeMounts: [
      { name: "workspace", mountPath: CONTAINER_PATHS.workspace },
      { name: "inputs", mountPath: CONTAINER_PATHS.foremanDir, readOnly: true },
      { name: "out", mountPath: CONTAINER_PATHS.outDir },
      ...tmpfs.map((mount) => ({ name: mount.volume, mountPath: mount.path })),
    ],
  };
  return {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    // Stop's own grace is the delete's; this bounds the upload after a normal exit.
    terminationGracePeriodSeconds: settings.uploadGraceSeconds,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: agent.uid,
      runAsGroup: agent.gid,
      seccompProfile: { type: "RuntimeDefault" },
    },
    initContainers: [fetch, upload],
    containers: [agentContainer],
    volumes: [
      { name: "workspace", emptyDir: { sizeLimit: diskLimit } },
      { name: "out", emptyDir: { sizeLimit: diskLimit } },
      { name: "inputs", emptyDir: { sizeLimit: "16Mi" } },
      { name: "helper-tmp", emptyDir: { sizeLimit: diskLimit } },
      { name: "tokens", secret: { secretName: name, defaultMode: 0o400 } },
      ...tmpfs.map((mount) => ({ name: mount.volume, emptyDir: { medium: "Memory", sizeLimit: `${mount.sizeMb}Mi` } })),
    ],
  };
}

function buildContainerSecurity(agent: AgentContainer): V1Container["securityContext"] {
  return {
    runAsNonRoot: true,
    runAsUser: agent.uid,
    runAsGroup: agent.gid,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

// Requests equal limits: the job gets what it is promised and is OOM-killed past it, as in Docker.
function buildResources(memoryBytes: number, cpus: number): V1Container["resources"] {
  const memory = `${Math.max(1, Math.round(memoryBytes / (1024 * 1024)))}Mi`;
  const cpu = `${Math.max(1, Math.round(cpus * 1000))}m`;
  return { requests: { memory, cpu }, limits: { memory, cpu } };
}

function buildHelper(settings: KubernetesJobSettings, agent: AgentContainer): Omit<V1Container, "name"> {
  return {
    image: settings.helperImage,
    imagePullPolicy: "IfNotPresent",
    securityContext: buildContainerSecurity(agent),
    resources: buildResources(64 * 1024 * 1024, 0.1),
  };
}
