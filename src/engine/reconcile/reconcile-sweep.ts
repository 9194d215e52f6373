import { appendComplianceRecords } from "../../db/queries/append-compliance-record.js";
import { listRepositoriesToReconcile } from "../../db/queries/list-repositories-to-reconcile.js";
import { listTasksToReconcile } from "../../db/queries/list-tasks-to-reconcile.js";
import { releaseReconcileLock } from "../../db/queries/release-reconcile-lock.js";
import { tryReconcileLock } from "../../db/queries/try-reconcile-lock.js";
import { emitForemanEvent } from "../../events/foreman-events.js";
import {
  createReadBudget,
  ReadBudgetSpentError,
  type EtagCache,
  type ReadBudget,
} from "../../github/conditional-read.js";
import { isRepoAllowed } from "../../webhooks/intake.js";
import { pruneExpiredData, type PruneReport } from "../retention/prune-expired-data.js";
import type { ReconcileDeps, Repair, RepairKind, SweepRound } from "./reconcile-deps.js";
import { repairFailedDeliveries } from "./repair-failed-deliveries.js";
import { repairUnheardCi } from "./repair-unheard-ci.js";
import { repairUnheardLabels } from "./repair-unheard-labels.js";
import { repairUnheardPullRequestEnd } from "./repair-unheard-pull-request-ends.js";

/** What one round did: null when another replica held the lock. */
export interface SweepReport {
  repairs: Repair[];
  /** GitHub requests that cost a rate-limit point, and 304s that did not. */
  requests: number;
  notModified: number;
}

const REPAIR_KINDS: readonly RepairKind[] = ["delivery", "label", "ci", "pull_request"];

/**
 * The reconciliation sweep: at start and every interval, one replica at a time (a try-lock), it
 * finds what GitHub's webhooks failed to tell Foreman — failed deliveries, labels, CI results, PR
 * ends — and repairs it through the inbox, as the webhook would have (docs/reliability.md).
 */
export class ReconcileSweeper {
  private readonly cache: EtagCache = new Map();
  private lastRoundAt: Date | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly deps: ReconcileDeps,
    private readonly intervalMs: number,
  ) {}

  /** One round of retention pruning (`RETENTION_DAYS`), under its own lock; null when off or another replica prunes. */
  async prune(): Promise<PruneReport | null> {
    return pruneExpiredData({ sql: this.deps.sql, retentionDays: this.deps.retentionDays ?? null, log: this.deps.log });
  }

  /** Sweep now, then every interval, until `stop()`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stop the timer and wait for a round in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round, if this replica gets the lock; null when another replica is sweeping. */
  async sweep(): Promise<SweepReport | null> {
    const connection = await this.deps.sql.reserve();
    try {
      if (!(await tryReconcileLock(connection))) return null;
      try {
        return await this.sweepLocked();
      } finally {
        await releaseReconcileLock(connection);
      }
    } finally {
      connection.release();
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .catch((error: unknown) => this.deps.log.warn({ err: error }, "reconciliation sweep failed"))
        .then(() => this.prune())
        .catch((error: unknown) => this.deps.log.warn({ err: error }, "retention pruning failed"))
        .finally(() => {
          this.running = null;
          this.schedule(this.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async sweepLocked(): Promise<SweepReport> {
    const { deps } = this;
    const startedAt = deps.now();
    const budgets = new Map<number | "app", ReadBudget>();
    const round: SweepRound = {
      deps,
      cache: this.cache,
      since: this.lastRoundAt,
      repairs: [],
      budgetFor: (key) => {
        let budget = budgets.get(key);
        if (!budget) {
          budget = createReadBudget(deps.requestBudget, deps.rateLimitFloor);
          budgets.set(key, budget);
        }
        return budget;
      },
    };
    await this.guarded("app", () => repairFailedDeliveries(round));
    const repositories = (await listRepositoriesToReconcile(deps.sql)).filter((repo) =>
      isRepoAllowed(deps.policy, repo.fullName),
    );
    const tasks = (await listTasksToReconcile(deps.sql)).filter((task) =>
      isRepoAllowed(deps.policy, `${task.repo.owner}/${task.repo.name}`),
    );
    const installations = new Set([
      ...repositories.map((r) => r.installationId),
      ...tasks.map((t) => t.installationId),
    ]);
    for (const installationId of installations) {
      await this.guarded(installationId, async () => {
        const client = await deps.github(installationId);
        for (const task of tasks.filter((t) => t.installationId === installationId)) {
          await repairUnheardPullRequestEnd(round, client, task);
          await repairUnheardCi(round, client, task);
        }
        for (const repository of repositories.filter((r) => r.installationId === installationId)) {
          await repairUnheardLabels(round, client, repository);
        }
      });
    }
    this.lastRoundAt = startedAt;
    const spent = [...budgets.values()];
    const report: SweepReport = {
      repairs: round.repairs,
      requests: spent.reduce((sum, budget) => sum + budget.spent, 0),
      notModified: spent.reduce((sum, budget) => sum + budget.notModified, 0),
    };
    if (report.repairs.length > 0) await this.recordRepairs(report, startedAt);
    else
      deps.log.debug(
        { requests: report.requests, notModified: report.notModified },
        "reconciliation sweep found nothing",
      );
    return report;
  }

  /** Run one installation's part; a spent budget or a failure ends that part only. */
  private async guarded(key: number | "app", part: () => Promise<void>): Promise<void> {
    try {
      await part();
    } catch (error) {
      if (error instanceof ReadBudgetSpentError) {
        this.deps.log.info({ installation: key }, "reconciliation sweep stopped at its request budget");
        return;
      }
      this.deps.log.warn({ err: error, installation: key }, "reconciliation sweep part failed");
    }
  }

  /** Say what a round repaired: the log, a metric per kind, one compliance record. */
  private async recordRepairs(report: SweepReport, at: Date): Promise<void> {
    const counts = Object.fromEntries(
      REPAIR_KINDS.map((kind) => [kind, report.repairs.filter((repair) => repair.kind === kind).length]),
    ) as Record<RepairKind, number>;
    this.deps.log.info({ repairs: counts, requests: report.requests }, "reconciliation sweep repaired missed events");
    for (const kind of REPAIR_KINDS) {
      if (counts[kind] > 0) emitForemanEvent({ type: "reconcile.repaired", kind, count: counts[kind] });
    }
    await this.deps.sql.begin((tx) =>
      appendComplianceRecords(tx, [
        {
          taskId: null,
          kind: "reconcile.repaired",
          actor: "foreman",
          payload: { counts, repairs: report.repairs },
          createdAt: at,
        },
      ]),
    );
    if (counts.label + counts.ci + counts.pull_request > 0) this.deps.wake();
  }
}
