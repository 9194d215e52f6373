import type { SqlClient } from "../client.js";
import { sanitizeNullableText } from "../sanitize-text.js";
import type { TaskRow } from "./task-row.js";

/**
 * In one statement: lock the effect's task and mark the effect done (or failed). Returns the locked
 * task row, for the caller to hand the effect's result to in the same transaction.
 */
export async function completeEffect(
  sql: SqlClient,
  effect: { id: number; taskId: string; status: "done" | "failed"; error: string | null },
): Promise<TaskRow> {
  const rows = await sql<{ task: TaskRow }[]>`
    with locked as (select * from tasks where id = ${effect.taskId} for update),
    finished as (
      update effects
         set status = ${effect.status}, done_at = now(), lease_until = null, last_error = ${sanitizeNullableText(effect.error)}
       where id = ${effect.id}
      returning id)
    select to_jsonb(locked) as task, (select count(*) from finished) as finished from locked`;
  const [row] = rows;
  if (!row) throw new Error(`effect ${effect.id} belongs to missing task ${effect.taskId}`);
  return row.task;
}
