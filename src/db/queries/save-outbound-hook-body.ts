import type { SqlClient } from "../client.js";

/** Keep the body built for a notification's first attempt, so every retry sends the same bytes. Returns the body kept. */
export async function saveOutboundHookBody(sql: SqlClient, id: number, body: string): Promise<string> {
  const [row] = await sql<
    Array<{ body: string }>
  >`update outbound_hooks set body = coalesce(body, ${body}) where id = ${id} returning body`;
  return row?.body ?? body;
}
