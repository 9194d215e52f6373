import type { Effect } from "../../workflow/effects.js";
import { toJsonText, type SqlClient } from "../client.js";

/** Queue a transition's effects in the caller's transaction, in order; they run only after commit. */
export async function insertEffects(sql: SqlClient, taskId: string, list: readonly Effect[]): Promise<void> {
  if (list.length === 0) return;
  const rows = list.map(({ kind, ...payload }) => ({ task_id: taskId, kind, payload: toJsonText(payload) }));
  await sql`insert into effects ${sql(rows as never, "task_id", "kind", "payload")}`;
}
