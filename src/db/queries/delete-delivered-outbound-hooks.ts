import type { SqlClient } from "../client.js";

/**
 * Delete up to `limit` outbound hooks (change hooks, checkpoint publications, daily summaries) that
 * were delivered and queued more than `retentionDays` ago by the database's clock (`created_at`;
 * `delivered_at` comes from the injected clock). Pending, failed and skipped hooks stay. Nothing
 * queues a delivered hook again: a task ends once, a checkpoint is published when it is made, and a
 * summary is queued for the day just past, never older than the shortest retention. Returns how many went.
 */
export async function deleteDeliveredOutboundHooks(
  sql: SqlClient,
  retentionDays: number,
  limit: number,
): Promise<number> {
  const rows = await sql`
    delete from outbound_hooks
     where id in (
       select id from outbound_hooks
        where status = 'delivered'
          and created_at < now() - make_interval(days => ${retentionDays})
        order by id
        limit ${limit}
        for update skip locked)
    returning id`;
  return rows.count;
}
