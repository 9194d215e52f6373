import { toJsonText, type SqlClient } from "../client.js";
import type { NewInboxEvent } from "./insert-inbox-event.js";
import type { TaskRow } from "./task-row.js";

/** What completing an effect found: the task (locked) and what became of the result event. */
export interface CompletedEffect {
  task: TaskRow;
  /** "apply": stored as done, apply it now; "queued": older events wait in its lane; "duplicate": stored before; "none": no event. */
  stored: "apply" | "queued" | "duplicate" | "none";
}

/**
 * In one statement: lock the effect's task, mark the effect done (or failed), and store its result
 * event — as done when nothing older is pending in its lane (the caller applies it in this same
 * transaction), else as pending. Keyed by the effect, so an effect that ran twice counts once.
 */
export async function completeEffect(
  sql: SqlClient,
  effect: { id: number; taskId: string; status: "done" | "failed"; error: string | null },
  result: NewInboxEvent | null,
): Promise<CompletedEffect> {
  const rows = await sql<{ task: TaskRow; stored: string | null }[]>`
    with locked as (select * from tasks where id = ${effect.taskId} for update),
    finished as (
      update effects
         set status = ${effect.status}, done_at = now(), lease_until = null, last_error = ${effect.error}
       where id = ${effect.id}
      returning id),
    busy as (
      select exists (select 1 from webhook_deliveries where lane = ${result?.lane ?? ""} and status = 'pending') as busy),
    stored as (
      insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, status, processed_at)
      select ${result?.deliveryId ?? ""}, ${result?.dedupeKey ?? ""}, ${result?.source ?? "effect"}, ${result?.eventName ?? ""},
             ${result?.lane ?? ""}, ${toJsonText(result?.event ?? null)},
             case when busy then 'pending' else 'done' end, case when busy then null else now() end
        from busy
       where ${result !== null}
      on conflict do nothing
      returning status)
    select to_jsonb(locked) as task, (select status from stored) as stored, (select count(*) from finished) as finished
      from locked`;
  const [row] = rows;
  if (!row) throw new Error(`effect ${effect.id} belongs to missing task ${effect.taskId}`);
  const stored =
    result === null ? "none" : row.stored === null ? "duplicate" : row.stored === "done" ? "apply" : "queued";
  return { task: row.task, stored };
}
