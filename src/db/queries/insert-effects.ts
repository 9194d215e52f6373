import { sql } from "drizzle-orm";
import type { Effect } from "../../workflow/effects.js";
import type { DbOrTx } from "../client.js";
import { effects } from "../schema.js";
import { WORK_CHANNEL } from "./insert-inbox-event.js";

/** Queue a transition's effects in the caller's transaction, in order; they run only after commit. */
export async function insertEffects(tx: DbOrTx, taskId: string, list: readonly Effect[]): Promise<number[]> {
  if (list.length === 0) return [];
  const rows = await tx
    .insert(effects)
    .values(list.map(({ kind, ...payload }) => ({ taskId, kind, payload })))
    .returning({ id: effects.id });
  await tx.execute(sql`select pg_notify(${WORK_CHANNEL}, 'effect')`);
  return rows.map((row) => row.id);
}
