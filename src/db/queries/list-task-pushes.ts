import type { SqlClient } from "../client.js";

/** The commits Foreman's jobs pushed (or were about to push) to a task's branch. */
export async function listTaskPushes(sql: SqlClient, taskId: string): Promise<string[]> {
  const rows = await sql<{ sha: string }[]>`
    select pushed_sha as sha from agent_jobs where task_id = ${taskId} and pushed_sha is not null`;
  return rows.map((row) => row.sha);
}
