import { releaseExpiredLeases } from "../db/queries/release-expired-effect-leases.js";
import { WORK_CHANNEL } from "../db/queries/insert-inbox-event.js";
import type { EngineDeps } from "./deps.js";
import { releaseOwnIdleLeases } from "./local-effect-leases.js";
import { processNextEvent } from "./process-next-event.js";
import { runNextEffect } from "./run-next-effect.js";

/** Options for the worker loops. */
export interface WorkerOptions {
  concurrency: number;
  pollIntervalMs: number;
  /** LISTEN for work from other replicas (off in tests that share nothing). */
  listen: boolean;
}

/**
 * Runs the inbox and the outbox: `concurrency` loops, each taking the next event or effect.
 * Sleeps when idle and wakes on a local nudge, a NOTIFY from another replica, or the poll interval
 * (which also recovers leases of effects whose worker died: their lease ran out, or their replica's
 * liveness lock is gone, which frees them within a poll interval of the death).
 */
export class Worker {
  #running = false;
  #loops: Promise<void>[] = [];
  #sleepers = new Set<() => void>();
  #busy = 0;
  /** Bumped on every wake: an attempt that started before the latest wake cannot prove idleness. */
  #generation = 0;
  /**
   * Whether the inbox may hold a ready event. Set by anything that can add one (the intake's wake,
   * a NOTIFY, an effect result that had to queue, the poll tick for retries that came due); cleared
   * by a look that found nothing — only if nothing set it meanwhile (the inbox generation).
   */
  #inboxMaybeReady = true;
  #inboxGeneration = 0;
  #idleWaiters: Array<() => void> = [];
  #unlisten: (() => Promise<void>) | null = null;

  constructor(
    private readonly deps: EngineDeps,
    private readonly options: WorkerOptions,
  ) {}

  /** Start the loops. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    if (this.options.listen) {
      const subscription = await this.deps.database.sql.listen(WORK_CHANNEL, () => this.wake());
      this.#unlisten = () => subscription.unlisten();
    }
    // At start, leases under this replica's own name are a previous process's (it holds the name now).
    await releaseExpiredLeases(this.deps.database.sql, this.deps.liveness?.restarted ?? null);
    for (let slot = 0; slot < this.options.concurrency; slot += 1) this.#loops.push(this.#loop(slot));
  }

  /** Stop taking new work and wait for what is in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#wakeAll();
    await Promise.all(this.#loops);
    this.#loops = [];
    await this.#unlisten?.();
    this.#unlisten = null;
  }

  /**
   * Nudge one sleeping loop: there may be new work. One is enough — a loop that finds work keeps
   * going, and each further nudge wakes another — so idle loops don't all poll the database at once.
   */
  wake(): void {
    this.#generation += 1;
    this.#markInboxDirty();
    const [first] = this.#sleepers;
    first?.();
  }

  #markInboxDirty(): void {
    this.#inboxMaybeReady = true;
    this.#inboxGeneration += 1;
  }

  #wakeAll(): void {
    this.#generation += 1;
    for (const resolve of [...this.#sleepers]) resolve();
  }

  /** Resolves once every loop is asleep with nothing runnable (for tests and benchmarks). */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      // Idle means "looked and found nothing": look at the inbox again, whatever was concluded before.
      this.#markInboxDirty();
      this.#wakeAll();
    });
  }

  async #loop(slot: number): Promise<void> {
    let lastMaintenance = 0;
    let handledEvent = false;
    while (this.#running) {
      const generation = this.#generation;
      this.#busy += 1;
      let didWork = false;
      try {
        if (Date.now() - lastMaintenance > this.options.pollIntervalMs && slot === 0) {
          lastMaintenance = Date.now();
          await releaseExpiredLeases(this.deps.database.sql);
          await this.#releaseOwnIdleLeases();
        }
        handledEvent = await this.#processInbox(handledEvent);
        // An event applied may unblock the next one of its lane, which another loop may have
        // found blocked (and so called the inbox empty) while this one was still in flight.
        if (handledEvent) this.#markInboxDirty();
        const effects = await runNextEffect(this.deps);
        if (effects === "ran-and-queued") this.#markInboxDirty();
        didWork = handledEvent || effects !== "none";
      } catch (error) {
        this.deps.log.error({ err: error }, "worker loop error");
      } finally {
        this.#busy -= 1;
      }
      if (didWork) {
        // Work often makes more work (an effect's result, the next effect): let a sleeping loop help.
        if (this.#sleepers.size > 0) this.wake();
        continue;
      }
      if (this.#busy === 0 && generation === this.#generation && this.#idleWaiters.length > 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
      if (this.#running) await this.#sleep(this.options.pollIntervalMs);
    }
  }

  /**
   * Leases under this replica's own name that it does not run go back at once (a PostgreSQL restart
   * lost the statement that would have recorded their end). Only while this process holds its
   * liveness lock: then no other live process runs under the name. After the lock is lost and taken
   * again (PostgreSQL restarted), the next sweep does it.
   */
  async #releaseOwnIdleLeases(): Promise<void> {
    const { liveness, localLeases } = this.deps;
    if (!localLeases || liveness?.held !== true) return;
    const released = await releaseOwnIdleLeases(this.deps.database.sql, this.deps.replicaId, localLeases);
    if (released > 0)
      this.deps.log.warn(
        { count: released },
        "effects leased here whose end was never recorded went back to the queue",
      );
  }

  /** `tookEvent`: this loop's last look took an event, so a backlog is likely (no cheap look first). */
  async #processInbox(tookEvent: boolean): Promise<boolean> {
    if (!this.#inboxMaybeReady) return false;
    const generation = this.#inboxGeneration;
    const handled = await processNextEvent(this.deps, { lookFirst: !tookEvent });
    if (!handled && generation === this.#inboxGeneration) this.#inboxMaybeReady = false;
    return handled;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      // A sleep that runs out is a poll: retries may have come due meanwhile.
      const timer = setTimeout(() => {
        this.#markInboxDirty();
        done();
      }, ms);
      this.#sleepers.add(done);
    });
  }
}
