import type { DockerRunner } from "../agents/docker-runner.js";
import { claimNextAgentJobs, type ClaimedAgentJob } from "../db/queries/claim-next-agent-job.js";
import { findStaleAgentJobs } from "../db/queries/find-stale-agent-jobs.js";
import { findKnownAgentJobIds } from "../db/queries/find-known-agent-job-ids.js";
import { findLiveAgentJobIds } from "../db/queries/find-live-agent-job-ids.js";
import { WORK_CHANNEL } from "../db/queries/insert-inbox-event.js";
import { requeueAgentJob } from "../db/queries/requeue-agent-job.js";
import { finishAgentJob } from "../db/queries/finish-agent-job.js";
import { findTaskForUpdate } from "../db/queries/find-task-for-update.js";
import { toTask } from "../db/queries/task-row.js";
import { EventType } from "../workflow/events.js";
import { JobFailureCode } from "../workflow/job-failure.js";
import { deliverTaskEvent } from "./deliver-task-event.js";
import { sweepWorkspaces } from "../agents/workspace.js";
import { pruneMirrorSnapshots } from "../agents/workspace-snapshots.js";
import { evictMirrors } from "../github/repo-mirror.js";
import type { JobLimits } from "./runtime-settings.js";

// Recovery (stale jobs, orphan containers, expired workspaces) also runs this often while up.
const RECOVERY_INTERVAL_MS = 5 * 60_000;
// At most this many jobs leased in one claim transaction.
const MAX_CLAIMS_AT_ONCE = 10;
import type { AgentStepDeps } from "./agent-step/agent-step-deps.js";
import { canUseSnapshots } from "./agent-step/fetch-job-repository.js";
import { runAgentStep } from "./agent-step/run-agent-step.js";
import { traceWork } from "../telemetry/tracing.js";

/** Options of the job runner. */
export interface JobRunnerOptions {
  /** Containers running at once across all replicas (the claim enforces it). */
  maxConcurrent: number;
  /** Containers running at once for one repository, across all replicas (`MAX_JOBS_PER_REPO`). */
  maxPerRepo: number;
  /** Whether Foreman is paused: no new job starts while it is (default: never paused). */
  isPaused?: () => Promise<boolean>;
  /** The limits now, when an operator may change them at runtime (`PUT /api/settings`); default: the two above. */
  readLimits?: () => Promise<JobLimits>;
  pollIntervalMs: number;
  listen: boolean;
}

/**
 * Runs agent jobs: leases queued jobs while container slots are free, runs each to its end, and
 * stops a job's container when its task is frozen or ended. On start it recovers what a crash
 * left: jobs whose runner died go back to the queue, containers no live job owns are removed; every
 * poll interval it does the same for jobs of replicas that died (their liveness lock is gone).
 */
export class JobRunner {
  #running = false;
  #jobs = new Map<string, { done: Promise<void>; controller: AbortController }>();
  #loop: Promise<void> | null = null;
  #wakeUp: (() => void) | null = null;
  // A wake that came while the loop was busy (claiming, reading the limits): the next wait is skipped.
  #wokenWhileBusy = false;
  #idleWaiters: Array<() => void> = [];
  #unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly deps: AgentStepDeps & { runner: DockerRunner | AgentStepDeps["runner"] },
    private readonly options: JobRunnerOptions,
  ) {}

  /** Recover, then start leasing jobs. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#reportWorkspaceSource();
    // At start, jobs under this replica's own name are a previous process's (it holds the name now).
    await this.recover(this.deps.engine.liveness?.restarted ?? null);
    if (this.options.listen) {
      const subscription = await this.deps.engine.database.sql.listen(WORK_CHANNEL, () => this.wake());
      this.#unlisten = () => subscription.unlisten();
    }
    this.#loop = this.#run();
  }

  /** Stop leasing, stop running containers (their jobs return to the queue), and wait. */
  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    for (const job of this.#jobs.values()) job.controller.abort();
    await Promise.allSettled([...this.#jobs.values()].map((job) => job.done));
    await this.#unlisten?.();
  }

  /** There may be a new job. */
  wake(): void {
    if (this.#wakeUp === null) this.#wokenWhileBusy = true;
    this.#wakeUp?.();
  }

  /** Stop a job running in this process now (the heartbeat would notice within seconds anyway). */
  cancel(jobId: string): void {
    this.#jobs.get(jobId)?.controller.abort();
  }

  /** Resolves when no job runs here and none could be leased (tests and benchmarks). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.wake();
    });
  }

  /**
   * Requeue jobs whose runner died, remove containers no live job owns, sweep expired workspaces and evict old mirrors.
   * `restarted` is this replica's name when the jobs under it are a previous process's (at start).
   */
  async recover(restarted: string | null = null): Promise<void> {
    await this.#requeueLostJobs(restarted);
    await this.#removeOrphans(restarted);
    await this.#sweepWorkspaces(restarted);
    await this.#evictMirrors();
  }

  /**
   * Requeue (or fail, on their last attempt) the jobs whose runner died: lease run out, or replica dead
   * (its liveness lock gone). Returns how many it found.
   */
  async #requeueLostJobs(restarted: string | null): Promise<number> {
    const { sql } = this.deps.engine.database;
    // Holding its liveness lock, this process is the only one under its name: a job under the name
    // that it does not run lost its end to a PostgreSQL restart, and goes back now. Claims run in
    // this same loop, so every job it leased is in `#jobs` by now.
    const own =
      this.deps.engine.liveness?.held === true
        ? { replica: this.deps.engine.replicaId, runningIds: [...this.#jobs.keys()] }
        : null;
    const lost = await findStaleAgentJobs(sql, restarted, own);
    for (const stale of lost) {
      if (stale.attempt < this.deps.maxAttempts) {
        // Every live replica finds a dead one's jobs: only the first requeues each (at the attempt it saw).
        const requeued = await requeueAgentJob(sql, {
          id: stale.id,
          baseSha: stale.baseSha,
          delayMs: 0,
          reason: "the runner stopped while the job ran",
          runningAttempt: stale.attempt,
        });
        if (requeued)
          this.deps.engine.log.warn(
            { jobId: stale.id, taskId: stale.taskId },
            "agent job lost its runner; queued again",
          );
      } else {
        this.deps.engine.log.error(
          { jobId: stale.id, taskId: stale.taskId },
          "agent job lost its runner on its last attempt; failing it",
        );
        await this.#failLostJob(stale.id, stale.taskId, stale.attempt);
      }
    }
    return lost.length;
  }

  /**
   * Remove containers and egress networks no live job owns. A dead replica's containers are removed,
   * not adopted: the process that streamed their logs and would collect their results is gone, so
   * their jobs run again from the queue.
   */
  async #removeOrphans(restarted: string | null): Promise<void> {
    const { sql } = this.deps.engine.database;
    const runner = this.deps.runner as Partial<DockerRunner>;
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
          (orphan) => orphan.replica === this.deps.engine.replicaId || known.has(jobIdOf(orphan.jobId)),
        );
        for (const orphan of ours)
          await runner.remove({ containerId: orphan.containerId, taskId: orphan.taskId, jobId: orphan.jobId });
        if (ours.length > 0) this.deps.engine.log.warn({ count: ours.length }, "removed orphaned agent containers");
        // Egress job networks (and their policies) outlive a crash the same way; the same rule decides whose they are.
        if (typeof runner.listOrphanNetworks === "function" && typeof runner.removeJobNetwork === "function") {
          const networks = await runner.listOrphanNetworks(await findLiveAgentJobIds(sql, restarted));
          const knownNetworks = await findKnownAgentJobIds(
            sql,
            networks.map((network) => jobIdOf(network.jobId)),
          );
          const ourNetworks = networks.filter(
            (network) => network.replica === this.deps.engine.replicaId || knownNetworks.has(jobIdOf(network.jobId)),
          );
          for (const network of ourNetworks) await runner.removeJobNetwork(network.jobId);
          if (ourNetworks.length > 0)
            this.deps.engine.log.warn({ count: ourNetworks.length }, "removed orphaned egress networks");
        }
      } catch (error) {
        // Foreman still serves webhooks without Docker; jobs then fail on the issue, saying Docker is unreachable.
        this.deps.engine.log.warn(
          { err: error },
          "the Docker daemon is unreachable: agent jobs cannot run until it is (see DOCKER_HOST)",
        );
      }
    }
  }

  /** WORKSPACE_SOURCE=mirror: mirrors unused past MIRROR_MAX_AGE_DAYS, then the oldest beyond MIRROR_MAX_GB, are removed. */
  async #evictMirrors(): Promise<void> {
    const { mirror } = this.deps;
    if (mirror === undefined) return;
    try {
      const removed = await evictMirrors(mirror.dir, {
        maxBytes: mirror.maxBytes,
        maxAgeMs: mirror.maxAgeMs,
        now: this.deps.engine.now(),
      });
      if (removed.length > 0)
        this.deps.engine.log.info({ names: removed, dir: mirror.dir }, "evicted repository mirrors");
      const pruned = await pruneMirrorSnapshots(mirror.dir);
      if (pruned.length > 0) this.deps.engine.log.info({ dirs: pruned }, "removed old workspace snapshots");
    } catch (error) {
      this.deps.engine.log.warn(
        { err: error, dir: mirror.dir },
        "repository mirrors could not be evicted; the next sweep tries again",
      );
    }
  }

  /** Once at start: whether WORKSPACE_SOURCE=mirror mounts snapshots here, or unpacks each job's copy. */
  async #reportWorkspaceSource(): Promise<void> {
    const { mirror } = this.deps;
    if (mirror === undefined) return;
    if (await canUseSnapshots(this.deps))
      this.deps.engine.log.info(
        { dir: mirror.dir },
        "agent workspaces are mounted from repository snapshots (overlayfs)",
      );
    else
      this.deps.engine.log.info(
        { dir: mirror.dir },
        "agent workspaces are unpacked from the repository mirror: this process cannot mount overlayfs (root with CAP_SYS_ADMIN)",
      );
  }

  /**
   * Restarted (`restarted`: this replica's name, its previous process dead), the unmarked workspaces
   * it finds of jobs not running elsewhere are that process's, left by its crash: removed now, not
   * after a day. Only those made before the live jobs were read: a job leased since (by a replica
   * sharing the directory) makes its workspace after.
   */
  async #sweepWorkspaces(restarted: string | null = null): Promise<void> {
    const { sql } = this.deps.engine.database;
    const readAt = this.deps.engine.now();
    const liveJobIds = await findLiveAgentJobIds(sql, restarted);
    const swept = await sweepWorkspaces(this.deps.workspaceDir, this.deps.engine.now(), {
      liveJobIds,
      ...(restarted !== null ? { abandonedBefore: readAt } : {}),
    });
    if (swept.removed.length > 0)
      this.deps.engine.log.info({ count: swept.removed.length }, "removed expired agent workspaces");
    if (swept.failed.length > 0)
      this.deps.engine.log.warn(
        { jobIds: swept.failed, dir: this.deps.workspaceDir },
        "expired agent workspaces could not be removed; the next sweep tries again",
      );
    if (swept.foreign.length > 0)
      this.deps.engine.log.info(
        { names: swept.foreign, dir: this.deps.workspaceDir },
        "left directories without a Foreman job file in the workspace directory",
      );
  }

  async #failLostJob(jobId: string, taskId: string, attempt: number): Promise<void> {
    const { engine } = this.deps;
    const message = `The agent's container was lost ${attempt} times (Foreman or its Docker host restarted while it ran), so the step was not retried again.`;
    await engine.database.sql.begin(async (tx) => {
      const row = await findTaskForUpdate(tx, { by: "id", taskId });
      if (!row) return;
      const task = toTask(row);
      const usage = { durationMs: 0, tokens: 0, costUsd: 0 };
      const failed = await finishAgentJob(
        tx,
        {
          id: jobId,
          status: "failed",
          image: null,
          exitCode: null,
          failureCode: JobFailureCode.infraContainerLost,
          failureMessage: message,
          result: null,
          usage,
          prompt: null,
          promptSha256: null,
          log: null,
          pushedSha: null,
        },
        attempt,
      );
      // Another replica failed or requeued it first.
      if (!failed) return;
      await deliverTaskEvent(
        tx,
        engine,
        task,
        {
          type: EventType.jobFailed,
          taskId,
          jobId,
          code: JobFailureCode.infraContainerLost,
          message,
          logTail: "",
          usage,
        },
        `job:${jobId}:finished`,
        [
          {
            taskId,
            kind: "agent_job.finished",
            actor: "foreman[app]",
            payload: { jobId, status: "failed", failureCode: JobFailureCode.infraContainerLost, attempt },
            createdAt: engine.now(),
          },
        ],
      );
    });
  }

  async #readLimits(): Promise<JobLimits> {
    const fallback = { maxConcurrent: this.options.maxConcurrent, maxPerRepo: this.options.maxPerRepo };
    if (!this.options.readLimits) return fallback;
    try {
      return await this.options.readLimits();
    } catch (error) {
      this.deps.engine.log.warn({ err: error }, "reading the job limits failed; using the environment's");
      return fallback;
    }
  }

  async #isPaused(): Promise<boolean> {
    try {
      return (await this.options.isPaused?.()) ?? false;
    } catch (error) {
      this.deps.engine.log.warn({ err: error }, "reading the pause setting failed; assuming not paused");
      return false;
    }
  }

  /** Runs a leased job in the background; its slot frees (and the loop wakes) when it ends. */
  #startJob(job: ClaimedAgentJob): void {
    const { engine } = this.deps;
    const controller = new AbortController();
    const id = job.id;
    // A span continuing the trace of the transition that queued the job; every log line names the job.
    const done = traceWork(
      `job ${job.role}`,
      {
        correlation: { jobId: id, taskId: String(job.task.id), deliveryId: job.causeDeliveryId ?? undefined },
        attributes: { "foreman.role": job.role, "foreman.profile": job.profile, "foreman.attempt": job.attempt },
        parent: job.traceparent ?? null,
      },
      () => runAgentStep(this.deps, job, controller.signal),
    )
      .catch((error: unknown) =>
        engine.log.error({ err: error, jobId: id }, "agent job crashed; its lease will expire and it will run again"),
      )
      .finally(() => {
        this.#jobs.delete(id);
        this.wake();
      });
    this.#jobs.set(id, { done, controller });
  }

  async #run(): Promise<void> {
    const { engine } = this.deps;
    let lastRecovery = Date.now();
    let lastLostCheck = Date.now();
    while (this.#running) {
      if (Date.now() - lastRecovery > RECOVERY_INTERVAL_MS) {
        lastRecovery = lastLostCheck = Date.now();
        await this.recover().catch((error: unknown) => engine.log.error({ err: error }, "agent job recovery failed"));
      } else if (Date.now() - lastLostCheck >= this.options.pollIntervalMs) {
        // A dead replica's jobs (liveness lock gone) go back to the queue within a poll interval, and its containers go.
        lastLostCheck = Date.now();
        await this.#requeueLostJobs(null)
          .then((lost) => (lost > 0 ? this.#removeOrphans(null) : undefined))
          .catch((error: unknown) => engine.log.error({ err: error }, "agent job recovery failed"));
      }
      let claimed: ClaimedAgentJob[] = [];
      // A wake from here on (a job queued while this claim runs) means: look again, do not sleep.
      this.#wokenWhileBusy = false;
      // Both settings at once: one database round trip before each claim instead of two.
      const [paused, limits] = await Promise.all([this.#isPaused(), this.#readLimits()]);
      if (paused && this.#jobs.size > 0) {
        // The global pause holds every task as a freeze does: running agents are stopped (their
        // steps are queued again and wait for `foreman resume`).
        engine.log.warn({ jobs: this.#jobs.size }, "Foreman is paused: stopping running agent jobs");
        for (const job of this.#jobs.values()) job.controller.abort();
      }
      const free = Math.min(limits.maxConcurrent - this.#jobs.size, MAX_CLAIMS_AT_ONCE);
      if (free > 0 && !paused) {
        try {
          // As many as this replica has room for, in one transaction: jobs queued together start together.
          claimed = await claimNextAgentJobs(
            engine.database.sql,
            engine.replicaId,
            engine.leaseMs,
            { maxRunning: limits.maxConcurrent, maxPerRepo: limits.maxPerRepo, paused },
            free,
          );
        } catch (error) {
          engine.log.error({ err: error }, "leasing an agent job failed");
        }
      }
      for (const job of claimed) this.#startJob(job);
      if (claimed.length > 0) continue;
      if (this.#jobs.size === 0 && this.#idleWaiters.length > 0) {
        for (const resolve of this.#idleWaiters.splice(0)) resolve();
      }
      if (this.#wokenWhileBusy) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.pollIntervalMs);
        this.#wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakeUp = null;
    }
  }
}
