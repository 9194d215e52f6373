import type { SqlClient } from "../client.js";

/** Jobs marked running whose lease ran out: their runner died. */
export async function findStaleAgentJobs(
  sql: SqlClient,
): Promise<Array<{ id: string; attempt: number; baseSha: string; taskId: string }>> {
  const rows = await sql<{ id: string; attempt: number; base_sha: string; task_id: string }[]>`
    select id, attempt, base_sha, task_id from agent_jobs where status = 'running' and lease_until < now()`;
  return rows.map((row) => ({ id: row.id, attempt: row.attempt, baseSha: row.base_sha, taskId: row.task_id }));
}
