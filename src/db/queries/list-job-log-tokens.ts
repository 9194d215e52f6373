import type { SqlClient } from "../client.js";

/** A task's agent jobs with the token of their log link, oldest first (for links people follow). */
export async function listJobLogTokens(
  sql: SqlClient,
  taskId: string,
): Promise<Array<{ id: string; role: string; status: string; logToken: string }>> {
  const rows = await sql<Array<{ id: string; role: string; status: string; log_token: string }>>`
    select id, role, status, log_token from agent_jobs where task_id = ${taskId} order by created_at, id`;
  return rows.map((row) => ({ id: String(row.id), role: row.role, status: row.status, logToken: row.log_token }));
}
