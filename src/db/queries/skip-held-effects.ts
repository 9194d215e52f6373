import { ALLOWED_AFTER_END } from "../../workflow/effects.js";
import type { SqlClient } from "../client.js";

/** When a task ends, the effects it had queued will never be wanted: skip all but those allowed after the end (ALLOWED_AFTER_END). Run before queuing the ending transition's own effects. */
export async function skipHeldEffects(sql: SqlClient, taskId: string): Promise<void> {
  await sql`
    update effects set status = 'skipped', done_at = now()
     where task_id = ${taskId} and status = 'pending' and kind <> all(${ALLOWED_AFTER_END as string[]})`;
}
