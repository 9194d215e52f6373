import type { SqlClient } from "../client.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One of a task's agent jobs: its status and stored log (null until it ends); null when the task has no such job. */
export async function findTaskJobLog(
  sql: SqlClient,
  taskId: string,
  jobId: string,
): Promise<{ status: string; log: string | null } | null> {
  if (!UUID.test(taskId) || !UUID.test(jobId)) return null;
  const [row] = await sql<{ status: string; log: string | null }[]>`
    select status, log from agent_jobs where id = ${jobId} and task_id = ${taskId}`;
  return row ?? null;
}
