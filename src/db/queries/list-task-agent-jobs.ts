import type { SqlClient } from "../client.js";

/** A task's agent job rows as JSON, oldest first, without `log_token` (the secret in a log's link). */
export async function listTaskAgentJobs(sql: SqlClient, taskId: string): Promise<Array<Record<string, unknown>>> {
  const rows = await sql<Array<{ job: Record<string, unknown> }>>`
    select to_jsonb(j) - 'log_token' as job from agent_jobs j where j.task_id = ${taskId} order by j.created_at, j.id`;
  return rows.map((row) => row.job);
}
