/**
 * Composes the Kubernetes runner from plain settings (the composition root maps the environment):
 * the cluster's credentials (a kubeconfig file, or the in-cluster service account), the job
 * archives this replica serves, and the runner itself.
 */
import { KubeConfig } from "@kubernetes/client-node";
import { JobArchives } from "./job-archives.js";
import type { KubernetesJobSettings } from "./kubernetes-job-spec.js";
import { KubernetesRunner } from "./kubernetes-runner.js";

/** What the Kubernetes runner is built from. */
export interface KubernetesRunnerSettings {
  readonly job: KubernetesJobSettings;
  /** A kubeconfig file; unset: the in-cluster service account. */
  readonly kubeconfigPath?: string;
  readonly egressProxyUrl?: string;
}

/** The runner and the archives whose endpoints the HTTP server must serve (src/http/job-archive-route.ts). */
export function buildKubernetesRunner(settings: KubernetesRunnerSettings): {
  runner: KubernetesRunner;
  archives: JobArchives;
} {
  const kubeConfig = new KubeConfig();
  if (settings.kubeconfigPath === undefined) kubeConfig.loadFromCluster();
  else kubeConfig.loadFromFile(settings.kubeconfigPath);
  const archives = new JobArchives({
    now: () => Date.now(),
    // The pod must start (its helper image pulled, scheduled) within this.
    downloadTtlMs: 15 * 60_000,
    uploadGraceMs: 15 * 60_000,
    maxUploadBytes: settings.job.workspaceMaxMb * 1024 * 1024,
  });
  const runner = new KubernetesRunner({
    kubeConfig,
    settings: settings.job,
    archives,
    ...(settings.egressProxyUrl === undefined ? {} : { egressProxyUrl: settings.egressProxyUrl }),
  });
  return { runner, archives };
}
