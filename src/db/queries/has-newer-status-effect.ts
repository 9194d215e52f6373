import { EffectKind } from "../../workflow/effects.js";
import type { SqlClient } from "../client.js";

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
