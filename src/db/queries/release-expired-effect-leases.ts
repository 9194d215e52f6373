import type { SqlClient } from "../client.js";

/** Put effects whose lease expired (their worker died mid-flight) back in the queue. */
export async function releaseExpiredLeases(sql: SqlClient): Promise<number> {
  const rows = await sql`
    update effects set status = 'pending', locked_by = null, lease_until = null
     where status = 'running' and lease_until < now()
    returning id`;
  return rows.length;
}
