import type { ContainerSpec, JobHandle, Runner } from "../../src/agents/runner.js";

/** When one container of an agent job went through each stage (Date.now(), like Foreman's stored timestamps). */
export interface ContainerTimes {
  /** `runner.start()` called: the workspace is ready, the container is about to be created. */
  startCalledAt: number;
  /** `runner.start()` returned: the container runs, the agent starts. */
  runningAt: number | null;
  /** `runner.wait()` returned: the agent's container exited. */
  exitedAt: number | null;
  /** `runner.remove()` returned: logs read, container gone. */
  removedAt: number | null;
}

/** The container label that names the job (`<job id>-<attempt>`), as `buildContainerSpec` sets it. */
const JOB_LABEL = "foreman.job";

/**
 * Wraps a Runner (the real Docker one) and records, per job attempt, when its container was
 * asked for, ran, exited and was removed. Everything outside [runningAt, exitedAt] is what Foreman
 * spends around the agent; the benchmark combines these with the timestamps Foreman stores.
 */
export function wrapRunnerWithTimes(inner: Runner): { runner: Runner; times: Map<string, ContainerTimes> } {
  const times = new Map<string, ContainerTimes>();
  const find = (handle: JobHandle) => times.get(handle.jobId);
  const runner: Runner = {
    async start(spec: ContainerSpec) {
      const key = spec.Labels?.[JOB_LABEL] ?? "";
      const entry: ContainerTimes = { startCalledAt: Date.now(), runningAt: null, exitedAt: null, removedAt: null };
      times.set(key, entry);
      const handle = await inner.start(spec);
      entry.runningAt = Date.now();
      return handle;
    },
    async wait(handle, options) {
      const outcome = await inner.wait(handle, options);
      const entry = find(handle);
      if (entry) entry.exitedAt = Date.now();
      return outcome;
    },
    stop: (handle, options) => inner.stop(handle, options),
    logs: (handle, options) => inner.logs(handle, options),
    async remove(handle) {
      await inner.remove(handle);
      const entry = find(handle);
      if (entry && entry.exitedAt !== null && entry.removedAt === null) entry.removedAt = Date.now();
    },
    listOrphans: (liveJobIds, options) => inner.listOrphans(liveJobIds, options),
    removeOrphans: (liveJobIds, options) => inner.removeOrphans(liveJobIds, options),
  };
  return { runner, times };
}
