import { withConfigDefaults } from "../../workflow/defaults.js";
import type { TaskConfig } from "../../workflow/task.js";
import type { SqlClient } from "../client.js";

/** Tasks of a repo waiting for green (red mode), with their lanes and the CI apps their config counts. */
export async function findWaitingTasks(
  sql: SqlClient,
  repoId: number,
): Promise<Array<{ id: string; issueNumber: number; ciApps: string[] }>> {
  const rows = await sql<{ id: string; issue_number: number; config: TaskConfig | null }[]>`
    select id, issue_number, config from tasks where repo_id = ${repoId} and state = 'waiting' order by created_at`;
  return rows.map((row) => ({
    id: String(row.id),
    issueNumber: Number(row.issue_number),
    ciApps: [...withConfigDefaults(row.config).ci.apps],
  }));
}
