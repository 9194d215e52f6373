import type { Logger } from "probot";
import type postgres from "postgres";
import type { SqlClient } from "../../db/client.js";
import { clearStoredJobLogs } from "../../db/queries/clear-stored-job-logs.js";
import { deleteDeliveredOutboundHooks } from "../../db/queries/delete-delivered-outbound-hooks.js";
import { deleteExpiredIdempotencyKeys } from "../../db/queries/delete-expired-idempotency-keys.js";
import { deleteFinishedEffects } from "../../db/queries/delete-finished-effects.js";
import { deleteFinishedJobLogLines } from "../../db/queries/delete-finished-job-log-lines.js";
import { deleteOldCiResults } from "../../db/queries/delete-old-ci-results.js";
import { deleteProcessedInboxEvents } from "../../db/queries/delete-processed-inbox-events.js";
import { releaseRetentionLock } from "../../db/queries/release-retention-lock.js";
import { tryRetentionLock } from "../../db/queries/try-retention-lock.js";
import { emitForemanEvent, type RetentionPrunedKind } from "../../events/foreman-events.js";

/** What the pruning removes, one kind per table (or column). */
export type PrunedKind = RetentionPrunedKind;

/** How many rows of each kind one round removed. */
export type PruneReport = Record<PrunedKind, number>;

/** What a round of pruning needs: the durable pool, the retention, the batch size, a logger. */
export interface PruneSettings {
  sql: postgres.Sql;
  /** Days to keep; null prunes nothing. */
  retentionDays: number | null;
  /** Rows per statement (default 500): each batch is its own short transaction, so no lock is held long. */
  batchSize?: number;
  /** At most this many batches of one kind per round (default 200); the next round goes on. */
  maxBatches?: number;
  log: Pick<Logger, "info" | "debug">;
}

type BatchDelete = (sql: SqlClient, retentionDays: number, limit: number) => Promise<number>;

const PRUNERS: ReadonlyArray<[PrunedKind, BatchDelete]> = [
  ["inbox", deleteProcessedInboxEvents],
  ["effects", deleteFinishedEffects],
  ["job_log_lines", deleteFinishedJobLogLines],
  ["job_logs", clearStoredJobLogs],
  ["outbound_hooks", deleteDeliveredOutboundHooks],
  ["ci_results", deleteOldCiResults],
  ["api_idempotency_keys", deleteExpiredIdempotencyKeys],
];

/**
 * One round of retention pruning, if this replica gets the lock (null when another replica is
 * pruning, or retention is off): processed inbox rows, finished effects of ended tasks, live log
 * lines of finished jobs, stored job logs whose evidence copy is an artifact, delivered outbound
 * hooks, check suites of no task (but each repository and app's latest on the default branch) and
 * expired API idempotency keys, all older than `retentionDays`, in bounded batches. Compliance
 * records, artifacts and a task's check suites (its evidence bundle's) are never touched.
 */
export async function pruneExpiredData(settings: PruneSettings): Promise<PruneReport | null> {
  if (settings.retentionDays === null) return null;
  const connection = await settings.sql.reserve();
  try {
    if (!(await tryRetentionLock(connection))) return null;
    try {
      return await pruneLocked(settings, settings.retentionDays);
    } finally {
      await releaseRetentionLock(connection);
    }
  } finally {
    connection.release();
  }
}

async function pruneLocked(settings: PruneSettings, retentionDays: number): Promise<PruneReport> {
  const batchSize = settings.batchSize ?? 500;
  const maxBatches = settings.maxBatches ?? 200;
  const report = Object.fromEntries(PRUNERS.map(([kind]) => [kind, 0])) as PruneReport;
  for (const [kind, prune] of PRUNERS) {
    for (let batch = 0; batch < maxBatches; batch++) {
      const count = await prune(settings.sql, retentionDays, batchSize);
      report[kind] += count;
      if (count < batchSize) break;
    }
    if (report[kind] > 0) emitForemanEvent({ type: "retention.pruned", kind, count: report[kind] });
  }
  const total = Object.values(report).reduce((sum, count) => sum + count, 0);
  if (total > 0) settings.log.info({ pruned: report, retentionDays }, "retention pruned old rows");
  else settings.log.debug({ retentionDays }, "retention found nothing to prune");
  return report;
}
