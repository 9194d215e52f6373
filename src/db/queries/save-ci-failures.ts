import type { CiFailure } from "../../workflow/task.js";
import { toJsonText, type SqlClient } from "../client.js";

/** Attach the failing checks Foreman read to the task's stored suites of that SHA. */
export async function saveCiFailures(
  sql: SqlClient,
  taskId: string,
  sha: string,
  failures: readonly CiFailure[],
): Promise<void> {
  await sql`update ci_results set failures = ${toJsonText(failures)} where task_id = ${taskId} and head_sha = ${sha}`;
}
