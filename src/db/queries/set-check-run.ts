import type { SqlClient } from "../client.js";

/** Remember the check run and the head it is on (bookkeeping; not a state change). */
export async function setCheckRun(
  sql: SqlClient,
  taskId: string,
  checkRun: { id: number; sha: string },
): Promise<void> {
  await sql`update tasks set check_run_id = ${checkRun.id}, check_run_sha = ${checkRun.sha} where id = ${taskId}`;
}
