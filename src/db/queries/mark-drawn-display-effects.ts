import type { SqlClient } from "../client.js";

/**
 * Mark done the task's pending redraws of `kinds` once the effect `effectId` drew those surfaces
 * itself (the ready effect, ADR 0017): those its own transition queued (one transaction's inserts
 * share `created_at`, its `now()`), and older ones still waiting out the display delay (they would
 * draw the task as stored, the same). A redraw of a later transition renders a newer state and is
 * left to run. Returns how many it marked.
 */
export async function markDrawnDisplayEffects(
  sql: SqlClient,
  effectId: number,
  kinds: readonly string[],
): Promise<number> {
  if (kinds.length === 0) return 0;
  const rows = await sql`
    update effects e
       set status = 'done', done_at = now(), lease_until = null, last_error = null
      from effects drawer
     where drawer.id = ${effectId}
       and e.task_id = drawer.task_id
       and (e.id < drawer.id or e.created_at = drawer.created_at)
       and e.kind = any(${kinds as string[]})
       and e.status = 'pending'
    returning e.id`;
  return rows.length;
}
