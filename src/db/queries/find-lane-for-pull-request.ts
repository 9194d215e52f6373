import type { SqlClient } from "../client.js";

/** The issue lane of the task that owns a PR, so PR events stay in order with the issue's. */
export async function findLaneForPullRequest(sql: SqlClient, repoId: number, prNumber: number): Promise<string | null> {
  const [row] = await sql<{ issue_number: number }[]>`
    select issue_number from tasks where repo_id = ${repoId} and pr_number = ${prNumber} order by created_at desc limit 1`;
  return row ? `repo:${repoId}#${row.issue_number}` : null;
}
