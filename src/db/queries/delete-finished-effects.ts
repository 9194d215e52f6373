import { TERMINAL_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";

/**
 * Delete up to `limit` effects that finished (done, failed, skipped) more than `retentionDays` ago
 * by the database's clock, of tasks that have ended; a live task's effects are never touched.
 * Returns how many went.
 */
export async function deleteFinishedEffects(sql: SqlClient, retentionDays: number, limit: number): Promise<number> {
  const rows = await sql`
    delete from effects
     where id in (
       select e.id from effects e join tasks t on t.id = e.task_id
        where e.status in ('done', 'failed', 'skipped')
          and t.state in ${sql([...TERMINAL_STATES])}
          and coalesce(e.done_at, e.created_at) < now() - make_interval(days => ${retentionDays})
        order by e.id
        limit ${limit}
        for update of e skip locked)
    returning id`;
  return rows.count;
}
