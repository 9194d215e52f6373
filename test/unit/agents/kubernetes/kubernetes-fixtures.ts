// Shared by the Kubernetes runner's tests: a job's container spec as buildContainerSpec makes it,
// the site's settings, and the offline schema check (kubernetes-models) of every object sent.
import { Job } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Secret } from "kubernetes-models/v1";
import { buildContainerSpec, type JobSpecInput } from "../../../../src/agents/job-spec.js";
import { BUILT_IN_PROFILES, type ResolvedProfile } from "../../../../src/agents/profiles.js";
import type { KubernetesJobSettings } from "../../../../src/agents/kubernetes/kubernetes-job-spec.js";
import type { ContainerSpec } from "../../../../src/agents/runner.js";

export const paths = {
  workspaceDir: "/var/lib/foreman/jobs/j1/workspace",
  promptPath: "/var/lib/foreman/jobs/j1/prompt.md",
  contextPath: "/var/lib/foreman/jobs/j1/context.json",
  outDir: "/var/lib/foreman/jobs/j1/out",
};

export const settings: KubernetesJobSettings = {
  namespace: "agents",
  foremanUrl: "http://10.1.2.3:3000",
  foremanSelector: { "app.kubernetes.io/name": "foreman" },
  foremanPort: 3000,
  egressProxySelector: { "app.kubernetes.io/name": "foreman-egress-proxy" },
  egressProxyPort: 3128,
  helperImage: "busybox:1.36",
  uploadGraceSeconds: 30,
  workspaceMaxMb: 4096,
};

export const claude: ResolvedProfile = { ...BUILT_IN_PROFILES["claude-code"]!, name: "claude-code" };
export const script: ResolvedProfile = { ...BUILT_IN_PROFILES.script!, name: "script" };

/** A job's container spec from the real job-spec builder. */
export function buildSpec(profile: ResolvedProfile, overrides: Partial<JobSpecInput> = {}): ContainerSpec {
  const built = buildContainerSpec(profile, {
    taskId: "t1",
    jobId: "j1",
    replica: "r1",
    paths,
    hostEnv: { ANTHROPIC_API_KEY: "sk-ant-test" },
    ...overrides,
  });
  if (!built.ok) throw new Error(built.error.message);
  return built.value;
}

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "batch/v1/Job": Job,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "v1/Secret": Secret,
};

/** Validates a request body against its Kubernetes OpenAPI schema; throws naming what is wrong. */
export function validateKubernetesObject(body: unknown): void {
  const object = body as { apiVersion?: string; kind?: string };
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (Model === undefined) throw new Error(`no schema for ${object.apiVersion}/${object.kind}`);
  new Model(body as never).validate();
}
