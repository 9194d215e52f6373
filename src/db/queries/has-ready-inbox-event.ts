import type { SqlClient } from "../client.js";

/** A cheap look, outside any transaction, at whether any event is ready (spares idle polls a transaction). */
export async function hasReadyInboxEvent(sql: SqlClient): Promise<boolean> {
  const rows = await sql`select 1 from webhook_deliveries where status = 'pending' and available_at <= now() limit 1`;
  return rows.length > 0;
}
