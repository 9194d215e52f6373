/**
 * The environment's Kubernetes part (RUNNER=kubernetes, docs/kubernetes.md): the agent Jobs'
 * namespace, how their pods reach Foreman and the egress proxy, and the runner's settings read
 * from them. Composed into `Env` by env.ts; the combination check is there.
 */
import { z } from "zod";
import type { KubernetesRunnerSettings } from "../agents/kubernetes/build-kubernetes-runner.js";
import type { AgentsEnv } from "./env-agents.js";
import { optionalText, splitList } from "./env-fields.js";
import type { ServerEnv } from "./env-server.js";

// Kubernetes label selectors as `key=value` pairs, comma-separated.
const labelSelector = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform(splitList)
    .refine((list) => list.length > 0 && list.every((entry) => /^[A-Za-z0-9./_-]+=[A-Za-z0-9._-]{0,63}$/.test(entry)), {
      error: "must be comma-separated key=value labels, e.g. app.kubernetes.io/name=foreman",
    })
    .transform((list) => Object.fromEntries(list.map((entry) => entry.split("=", 2) as [string, string])));

/** The Kubernetes runner's Jobs and the addresses their NetworkPolicies allow. */
export const KubernetesEnv = z.object({
  /** With RUNNER=kubernetes: the namespace of the agent Jobs (Foreman's Role must allow Jobs, pods, pod logs, Secrets and NetworkPolicies there). */
  KUBERNETES_NAMESPACE: z
    .string()
    .trim()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, {
      error: "must be a Kubernetes namespace name, e.g. foreman-agents",
    })
    .optional(),
  /** With RUNNER=kubernetes: a kubeconfig file to use (unset: the in-cluster service account). */
  KUBERNETES_KUBECONFIG: optionalText,
  /** With RUNNER=kubernetes: this replica's own address as a job's pod reaches it (the archive endpoints), e.g. http://$(POD_IP):3000. */
  KUBERNETES_FOREMAN_URL: z
    .url({ error: "must be the URL a job's pod reaches this replica at, e.g. http://10.0.0.5:3000" })
    .optional(),
  /** Foreman's pods: the one destination every job's NetworkPolicy allows (on PORT). */
  KUBERNETES_FOREMAN_SELECTOR: labelSelector("app.kubernetes.io/name=foreman"),
  /** Instead of KUBERNETES_FOREMAN_SELECTOR: Foreman's address range (CIDR), when Foreman runs outside the cluster. */
  KUBERNETES_FOREMAN_CIDR: z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, { error: "must be an address range, e.g. 172.18.0.1/32" })
    .optional(),
  /** The egress proxy's pods: the only other destination of `network: egress` jobs. */
  KUBERNETES_EGRESS_PROXY_SELECTOR: labelSelector("app.kubernetes.io/name=foreman-egress-proxy"),
  /** The egress proxy as `network: egress` jobs' HTTP(S)_PROXY give it; an IP address (the Service's ClusterIP): jobs have no DNS. */
  KUBERNETES_EGRESS_PROXY_URL: z.url({ error: "must be the proxy's URL, e.g. http://10.96.0.20:3128" }).optional(),
  /** The image of a job's two helper containers (fetch and return the files): any with sh, tar and wget. */
  KUBERNETES_HELPER_IMAGE: z.string().trim().min(1).default("busybox:1.36"),
});

/** The parsed Kubernetes settings. */
export type KubernetesEnv = z.infer<typeof KubernetesEnv>;

/** The Kubernetes runner's settings from the parsed environment (RUNNER=kubernetes; checked by the combination rules). */
export function readKubernetesSettings(
  env: KubernetesEnv & Pick<ServerEnv, "PORT"> & Pick<AgentsEnv, "WORKSPACE_MAX_MB">,
): KubernetesRunnerSettings {
  const proxyPort = env.KUBERNETES_EGRESS_PROXY_URL === undefined ? "" : new URL(env.KUBERNETES_EGRESS_PROXY_URL).port;
  return {
    job: {
      namespace: env.KUBERNETES_NAMESPACE ?? "default",
      foremanUrl: env.KUBERNETES_FOREMAN_URL ?? `http://127.0.0.1:${env.PORT}`,
      foremanSelector: env.KUBERNETES_FOREMAN_SELECTOR,
      foremanPort: env.PORT,
      ...(env.KUBERNETES_FOREMAN_CIDR === undefined ? {} : { foremanCidr: env.KUBERNETES_FOREMAN_CIDR }),
      egressProxySelector: env.KUBERNETES_EGRESS_PROXY_SELECTOR,
      egressProxyPort: proxyPort === "" ? 3128 : Number(proxyPort),
      helperImage: env.KUBERNETES_HELPER_IMAGE,
      uploadGraceSeconds: 30,
      workspaceMaxMb: env.WORKSPACE_MAX_MB,
    },
    ...(env.KUBERNETES_KUBECONFIG === undefined ? {} : { kubeconfigPath: env.KUBERNETES_KUBECONFIG }),
    ...(env.KUBERNETES_EGRESS_PROXY_URL === undefined ? {} : { egressProxyUrl: env.KUBERNETES_EGRESS_PROXY_URL }),
  };
}
