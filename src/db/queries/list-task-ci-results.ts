import type { SqlClient } from "../client.js";

/** Every completed check suite Foreman recorded for a task, oldest first, with the failures it read. */
export async function listTaskCiResults(sql: SqlClient, taskId: string): Promise<Array<Record<string, unknown>>> {
  const rows = await sql<Array<{ result: Record<string, unknown> }>>`
    select jsonb_build_object('suiteId', suite_id, 'headSha', head_sha, 'headBranch', head_branch, 'app', app,
                              'conclusion', conclusion, 'failures', failures, 'receivedAt', created_at) as result
      from ci_results where task_id = ${taskId} order by id`;
  return rows.map((row) => row.result);
}
