/**
 * The job runner's recovery from what a crash or a dead replica left (at start, every poll
 * interval for dead replicas, and about every 5 minutes in full): lost jobs requeued or failed,
 * orphan containers and egress networks removed, expired workspaces swept, old mirrors and
 * snapshots evicted. Each takes the runner's deps; the JobRunner (job-runner.ts) calls them.
 */
import type { DockerRunner } from "../agents/docker-runner.js";
import { findStaleAgentJobs } from "../db/queries/find-stale-agent-jobs.js";
import { findKnownAgentJobIds } from "../db/queries/find-known-agent-job-ids.js";
import { findLiveAgentJobIds } from "../db/queries/find-live-agent-job-ids.js";
import { requeueAgentJob } from "../db/queries/requeue-agent-job.js";
import { sweepWorkspaces } from "../agents/workspace.js";
import { pruneMirrorSnapshots } from "../agents/workspace-snapshots.js";
import { evictMirrors } from "../github/repo-mirror.js";
import type { AgentStepDeps } from "./agent-step/agent-step-deps.js";
import { failLostJob } from "./fail-lost-job.js";

/** What the job runner and its recovery are given: the agent step's deps, with a Docker runner's orphan calls when it has them. */
export type JobRunnerDeps = AgentStepDeps & { runner: DockerRunner | AgentStepDeps["runner"] };

/**
 * Requeue (or fail, on their last attempt) the jobs whose runner died: lease run out, or replica dead
 * (its liveness lock gone). Returns how many it found.
 */
export async function requeueLostJobs(
  deps: JobRunnerDeps,
  restarted: string | null,
  runningIds: readonly string[],
): Promise<number> {
  const { sql } = deps.engine.database;
  // Holding its liveness lock, this process is the only one under its name: a job under the name
  // that it does not run lost its end to a PostgreSQL restart, and goes back now. Claims run in
  // the runner's loop, which calls this, so every job it leased is in `runningIds` by now.
  const own =
    deps.engine.liveness?.held === true ? { replica: deps.engine.replicaId, runningIds: [...runningIds] } : null;
  const lost = await findStaleAgentJobs(sql, restarted, own);
  for (const stale of lost) {
    if (stale.attempt < deps.maxAttempts) {
      // Every live replica finds a dead one's jobs: only the first requeues each (at the attempt it saw).
      const requeued = await requeueAgentJob(sql, {
        id: stale.id,
        baseSha: stale.baseSha,
        delayMs: 0,
        reason: "the runner stopped while the job ran",
        runningAttempt: stale.attempt,
      });
      if (requeued)
        deps.engine.log.warn({ jobId: stale.id, taskId: stale.taskId }, "agent job lost its runner; queued again");
    } else {
      deps.engine.log.error(
        { jobId: stale.id, taskId: stale.taskId },
        "agent job lost its runner on its last attempt; failing it",
      );
      await failLostJob(deps, stale.id, stale.taskId, stale.attempt);
    }
  }
  return lost.length;
}

/**
 * Remove containers and egress networks no live job owns. A dead replica's containers are removed,
 * not adopted: the process that streamed their logs and would collect their results is gone, so
 * their jobs run again from the queue.
 */
export async function removeOrphans(deps: JobRunnerDeps, restarted: string | null): Promise<void> {
  const { sql } = deps.engine.database;
  const runner = deps.runner as Partial<DockerRunner>;
  if (typeof runner.listOrphans === "function" && typeof runner.remove === "function") {
    try {
      // Only containers this replica started, or of jobs this database knows: another Foreman
      // installation sharing the Docker host (staging beside production) is left alone.
      const orphans = await runner.listOrphans(await findLiveAgentJobIds(sql, restarted));
      const jobIdOf = (label: string) => label.replace(/-\d+$/, "");
      const known = await findKnownAgentJobIds(
        sql,
        orphans.map((orphan) => jobIdOf(orphan.jobId)),
      );
      const ours = orphans.filter(
        (orphan) => orphan.replica === deps.engine.replicaId || known.has(jobIdOf(orphan.jobId)),
      );
      for (const orphan of ours)
        await runner.remove({ containerId: orphan.containerId, taskId: orphan.taskId, jobId: orphan.jobId });
      if (ours.length > 0) deps.engine.log.warn({ count: ours.length }, "removed orphaned agent containers");
      // Egress job networks (and their policies) outlive a crash the same way; the same rule decides whose they are.
      if (typeof runner.listOrphanNetworks === "function" && typeof runner.removeJobNetwork === "function") {
        const networks = await runner.listOrphanNetworks(await findLiveAgentJobIds(sql, restarted));
        const knownNetworks = await findKnownAgentJobIds(
          sql,
          networks.map((network) => jobIdOf(network.jobId)),
        );
        const ourNetworks = networks.filter(
          (network) => network.replica === deps.engine.replicaId || knownNetworks.has(jobIdOf(network.jobId)),
        );
        for (const network of ourNetworks) await runner.removeJobNetwork(network.jobId);
        if (ourNetworks.length > 0)
          deps.engine.log.warn({ count: ourNetworks.length }, "removed orphaned egress networks");
      }
    } catch (error) {
      // Foreman still serves webhooks without Docker; jobs then fail on the issue, saying Docker is unreachable.
      deps.engine.log.warn(
        { err: error },
        "the Docker daemon is unreachable: agent jobs cannot run until it is (see DOCKER_HOST)",
      );
    }
  }
}

/**
 * Restarted (`restarted`: this replica's name, its previous process dead), the unmarked workspaces
 * it finds of jobs not running elsewhere are that process's, left by its crash: removed now, not
 * after a day. Only those made before the live jobs were read: a job leased since (by a replica
 * sharing the directory) makes its workspace after.
 */
export async function sweepExpiredWorkspaces(deps: JobRunnerDeps, restarted: string | null = null): Promise<void> {
  const { sql } = deps.engine.database;
  const readAt = deps.engine.now();
  const liveJobIds = await findLiveAgentJobIds(sql, restarted);
  const swept = await sweepWorkspaces(deps.workspaceDir, deps.engine.now(), {
    liveJobIds,
    ...(restarted !== null ? { abandonedBefore: readAt } : {}),
  });
  if (swept.removed.length > 0)
    deps.engine.log.info({ count: swept.removed.length }, "removed expired agent workspaces");
  if (swept.failed.length > 0)
    deps.engine.log.warn(
      { jobIds: swept.failed, dir: deps.workspaceDir },
      "expired agent workspaces could not be removed; the next sweep tries again",
    );
  if (swept.foreign.length > 0)
    deps.engine.log.info(
      { names: swept.foreign, dir: deps.workspaceDir },
      "left directories without a Foreman job file in the workspace directory",
    );
}

/** WORKSPACE_SOURCE=mirror: mirrors unused past MIRROR_MAX_AGE_DAYS, then the oldest beyond MIRROR_MAX_GB, are removed. */
export async function evictOldMirrors(deps: JobRunnerDeps): Promise<void> {
  const { mirror } = deps;
  if (mirror === undefined) return;
  try {
    const removed = await evictMirrors(mirror.dir, {
      maxBytes: mirror.maxBytes,
      maxAgeMs: mirror.maxAgeMs,
      now: deps.engine.now(),
    });
    if (removed.length > 0) deps.engine.log.info({ names: removed, dir: mirror.dir }, "evicted repository mirrors");
    const pruned = await pruneMirrorSnapshots(mirror.dir);
    if (pruned.length > 0) deps.engine.log.info({ dirs: pruned }, "removed old workspace snapshots");
  } catch (error) {
    deps.engine.log.warn(
      { err: error, dir: mirror.dir },
      "repository mirrors could not be evicted; the next sweep tries again",
    );
  }
}
