import type { SqlClient } from "../client.js";

/** A job's stored execution log and the token its link carries; null when there is no such job. */
export async function findAgentJobLog(
  sql: SqlClient,
  jobId: string,
): Promise<{ log: string | null; token: string } | null> {
  if (!/^[0-9a-f-]{36}$/i.test(jobId)) return null;
  const [row] = await sql<
    { log: string | null; log_token: string }[]
  >`select log, log_token from agent_jobs where id = ${jobId}`;
  return row ? { log: row.log, token: row.log_token } : null;
}

/** The latest job of a task, for the status comment's log link. */
export async function findLatestAgentJob(
  sql: SqlClient,
  taskId: string,
): Promise<{ id: string; token: string; status: string } | null> {
  const [row] = await sql<{ id: string; log_token: string; status: string }[]>`
    select id, log_token, status from agent_jobs where task_id = ${taskId} order by created_at desc limit 1`;
  return row ? { id: row.id, token: row.log_token, status: row.status } : null;
}
