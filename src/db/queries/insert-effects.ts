import type { Effect } from "../../workflow/effects.js";
import type { DbOrTx } from "../client.js";
import { effects } from "../schema.js";

/** Queue a transition's effects in the caller's transaction, in order; they run only after commit. */
export async function insertEffects(tx: DbOrTx, taskId: string, list: readonly Effect[]): Promise<number[]> {
  if (list.length === 0) return [];
  const rows = await tx
    .insert(effects)
    .values(list.map(({ kind, ...payload }) => ({ taskId, kind, payload })))
    .returning({ id: effects.id });
  return rows.map((row) => row.id);
}
