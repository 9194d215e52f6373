import { ALLOWED_AFTER_END, EffectKind } from "../../workflow/effects.js";
import type { SqlClient } from "../client.js";

/** Mark an effect done. */
export async function markEffectDone(sql: SqlClient, id: number): Promise<void> {
  await sql`update effects set status = 'done', done_at = now(), lease_until = null, last_error = null where id = ${id}`;
}

/** Put an effect back with a delay after a transient failure. */
export async function scheduleEffectRetry(sql: SqlClient, id: number, error: string, delayMs: number): Promise<void> {
  await sql`
    update effects
       set status = 'pending', last_error = ${error.slice(0, 2000)}, lease_until = null, locked_by = null,
           available_at = now() + make_interval(secs => ${delayMs / 1000})
     where id = ${id}`;
}

/** When a task ends, the effects it had queued will never be wanted: skip all but those allowed after the end (ALLOWED_AFTER_END). Run before queuing the ending transition's own effects. */
export async function skipHeldEffects(sql: SqlClient, taskId: string): Promise<void> {
  await sql`
    update effects set status = 'skipped', done_at = now()
     where task_id = ${taskId} and status = 'pending' and kind <> all(${ALLOWED_AFTER_END as string[]})`;
}

/** Whether a newer status-comment effect is queued for the task (then an older one can be skipped). */
export async function hasNewerStatusEffect(
  sql: SqlClient,
  taskId: string,
  afterId: number,
  kind: string = EffectKind.upsertStatusComment,
): Promise<boolean> {
  const rows = await sql`
    select 1 from effects
     where task_id = ${taskId} and kind = ${kind} and status = 'pending' and id > ${afterId}
     limit 1`;
  return rows.length > 0;
}
