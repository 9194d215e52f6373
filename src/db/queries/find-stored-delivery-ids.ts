import type { SqlClient } from "../client.js";

/** Which of these GitHub delivery guids the inbox holds. */
export async function findStoredDeliveryIds(sql: SqlClient, guids: readonly string[]): Promise<Set<string>> {
  if (guids.length === 0) return new Set();
  const rows = await sql<{ delivery_id: string }[]>`
    select delivery_id from webhook_deliveries where delivery_id = any(${guids as string[]})`;
  return new Set(rows.map((row) => row.delivery_id));
}
