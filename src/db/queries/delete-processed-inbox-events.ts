import type { SqlClient } from "../client.js";

/**
 * Delete up to `limit` inbox rows that were processed (done, or given up as failed) more than
 * `retentionDays` ago by the database's clock; pending rows are never touched. Returns how many went.
 */
export async function deleteProcessedInboxEvents(
  sql: SqlClient,
  retentionDays: number,
  limit: number,
): Promise<number> {
  const rows = await sql`
    delete from webhook_deliveries
     where id in (
       select id from webhook_deliveries
        where status in ('done', 'failed')
          and processed_at < now() - make_interval(days => ${retentionDays})
        order by id
        limit ${limit}
        for update skip locked)
    returning id`;
  return rows.count;
}
