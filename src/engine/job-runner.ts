/**
 * The job runner: one loop per process that leases queued agent jobs while container slots are
 * free and runs each (runAgentStep), with the pause, the runtime job limits and in-process cancel.
 * What a crash left is recovered by job-recovery.ts, which this loop calls.
 */
import { claimNextAgentJobs, type ClaimedAgentJob } from "../db/queries/claim-next-agent-job.js";
import { WORK_CHANNEL } from "../db/queries/insert-inbox-event.js";
import type { JobLimits } from "./runtime-settings.js";
import { canUseSnapshots } from "./agent-step/fetch-job-repository.js";
import { runAgentStep } from "./agent-step/run-agent-step.js";
import { traceWork } from "../telemetry/tracing.js";
import {
  evictOldMirrors,
  removeOrphans,
  requeueLostJobs,
  sweepExpiredWorkspaces,
  type JobRunnerDeps,
} from "./job-recovery.js";

// Recovery (stale jobs, orphan containers, expired workspaces) also runs this often while up.
const RECOVERY_INTERVAL_MS = 5 * 60_000;
// At most this many jobs leased in one claim transaction.
const MAX_CLAIMS_AT_ONCE = 10;

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
    private readonly deps: JobRunnerDeps,
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
    await requeueLostJobs(this.deps, restarted, [...this.#jobs.keys()]);
    await removeOrphans(this.deps, restarted);
    await sweepExpiredWorkspaces(this.deps, restarted);
    await evictOldMirrors(this.deps);
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
        await requeueLostJobs(this.deps, null, [...this.#jobs.keys()])
          .then((lost) => (lost > 0 ? removeOrphans(this.deps, null) : undefined))
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
