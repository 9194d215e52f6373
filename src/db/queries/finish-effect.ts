import { and, eq, gt, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { effects } from "../schema.js";

/** Mark an effect done (only while this worker still holds it). */
export async function markEffectDone(tx: DbOrTx, id: number): Promise<void> {
  await tx.update(effects).set({ status: "done", doneAt: sql`now()`, leaseUntil: null, lastError: null }).where(eq(effects.id, id));
}

/** Put an effect back with a delay after a transient failure. */
export async function scheduleEffectRetry(db: DbOrTx, id: number, error: string, delayMs: number): Promise<void> {
  await db
    .update(effects)
    .set({ status: "pending", lastError: error.slice(0, 2000), leaseUntil: null, lockedBy: null, availableAt: sql`now() + make_interval(secs => ${delayMs / 1000})` })
    .where(eq(effects.id, id));
}

/** Mark an effect failed for good. */
export async function markEffectFailed(tx: DbOrTx, id: number, error: string): Promise<void> {
  await tx.update(effects).set({ status: "failed", lastError: error.slice(0, 2000), leaseUntil: null, doneAt: sql`now()` }).where(eq(effects.id, id));
}

/** When a task ends, its queued effects will never be wanted: skip all but the status comment. */
export async function skipHeldEffects(tx: DbOrTx, taskId: string): Promise<void> {
  await tx.execute(sql`
    update effects set status = 'skipped', done_at = now()
     where task_id = ${taskId} and status = 'pending' and kind <> 'upsert_status_comment'`);
}

/** Whether a newer status-comment effect is queued for the task (then an older one can be skipped). */
export async function hasNewerStatusEffect(db: DbOrTx, taskId: string, afterId: number): Promise<boolean> {
  const rows = await db
    .select({ id: effects.id })
    .from(effects)
    .where(and(eq(effects.taskId, taskId), eq(effects.kind, "upsert_status_comment"), eq(effects.status, "pending"), gt(effects.id, afterId)))
    .limit(1);
  return rows.length > 0;
}
