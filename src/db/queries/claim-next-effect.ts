import { ALLOWED_AFTER_END, ALLOWED_WHILE_FROZEN } from "../../workflow/effects.js";
import { TERMINAL_STATES } from "../../workflow/states.js";
import { DISPLAY_KINDS } from "./insert-effects.js";
import { buildIssueLaneSql } from "./issue-lane.js";
import type { SqlClient } from "../client.js";
import type { TaskRow } from "./task-row.js";

/** A claimed effect, leased to this worker, with its task as it is now. */
export interface ClaimedEffect {
  id: number;
  taskId: string;
  kind: string;
  payload: Record<string, unknown>;
  attempts: number;
  task: TaskRow;
  /** The GitHub delivery behind it and the span that stored it (null when unknown). */
  causeDeliveryId?: string | null;
  traceparent?: string | null;
}

/**
 * Lease the next runnable effect: the oldest pending one of its task (effects of a task run in
 * order) whose kind may run for the task's state: everything for a working task; comments and
 * reads for a frozen one (and for every task while Foreman is paused); those plus the check run's
 * completion and the merge's record for a finished one (ALLOWED_WHILE_FROZEN, ALLOWED_AFTER_END).
 * The lease commits with the caller's statement or transaction; the effect then runs outside any
 * transaction. `onlyTaskId` restricts the claim to one task (to chain a task's effects). Returns the task row too.
 *
 * A task's effects also wait while its issue's lane holds an event that is ready: the task first
 * learns what happened (a freeze, the label removed) and then acts, so an effect the newer event
 * makes pointless (skipped when the task ends) never reaches GitHub.
 */
export async function claimNextEffect(
  sql: SqlClient,
  workerId: string,
  leaseMs: number,
  onlyTaskId: string | null = null,
  paused = false,
): Promise<ClaimedEffect | null> {
  // Whether an effect of this kind may run for the task's state: a finished task only gets its last
  // words, a frozen one (or every task while Foreman is paused) only its comments.
  const allowed = (
    kind: string,
  ) => sql`(case when ${paused}::boolean then ${sql(kind)} = any(${ALLOWED_WHILE_FROZEN as string[]})
                  when t.state = any(${TERMINAL_STATES as string[]}) then ${sql(kind)} = any(${ALLOWED_AFTER_END as string[]})
                  when t.state = 'frozen' then ${sql(kind)} = any(${ALLOWED_WHILE_FROZEN as string[]})
                  else true end)`;
  const rows = await sql`
    with next as (
      select f.id
        from effects f
        join tasks t on t.id = f.task_id
       where f.status = 'pending'
         and f.available_at <= now()
         and (${onlyTaskId}::uuid is null or f.task_id = ${onlyTaskId}::uuid)
         and ${allowed("f.kind")}
         and not exists (
               select 1 from webhook_deliveries w
                where w.status = 'pending' and w.lane = ${sql.unsafe(buildIssueLaneSql("t"))} and w.available_at <= now())
         and not exists (
               select 1 from effects g
                where g.task_id = f.task_id and g.id < f.id
                  and (g.status = 'running'
                       or (g.status = 'pending'
                           -- a redraw still waiting out its display delay holds up nothing behind it;
                           -- one that is due does (two workers must not draw the same task at once)
                           and (g.kind <> all(${DISPLAY_KINDS as string[]}) or g.available_at <= now())
                           and ${allowed("g.kind")})))
       order by f.id
       limit 1
         for update of f skip locked)
    update effects e
       set status = 'running', attempts = e.attempts + 1, locked_by = ${workerId},
           lease_until = now() + make_interval(secs => ${leaseMs / 1000})
      from next, tasks t
     where e.id = next.id and t.id = e.task_id
    returning e.id, e.task_id, e.kind, e.payload, e.attempts, to_jsonb(t) as task, e.cause_delivery_id, e.traceparent`;
  const row = rows[0];
  if (!row) return null;
  return {
    id: Number(row.id),
    taskId: String(row.task_id),
    kind: String(row.kind),
    payload: row.payload as Record<string, unknown>,
    attempts: Number(row.attempts),
    task: row.task as TaskRow,
    causeDeliveryId: row.cause_delivery_id === null ? null : String(row.cause_delivery_id),
    traceparent: row.traceparent === null ? null : String(row.traceparent),
  };
}
