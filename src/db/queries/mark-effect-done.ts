import type { SqlClient } from "../client.js";

/** Mark an effect done. */
export async function markEffectDone(sql: SqlClient, id: number): Promise<void> {
  await sql`update effects set status = 'done', done_at = now(), lease_until = null, last_error = null where id = ${id}`;
}
