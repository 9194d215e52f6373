import type { SqlClient } from "../client.js";

/** Tasks of a repo waiting for green (red mode), with their lanes. */
export async function findWaitingTasks(
  sql: SqlClient,
  repoId: number,
): Promise<Array<{ id: string; issueNumber: number }>> {
  const rows = await sql<
    { id: string; issue_number: number }[]
  >`select id, issue_number from tasks where repo_id = ${repoId} and state = 'waiting' order by created_at`;
  return rows.map((row) => ({ id: String(row.id), issueNumber: Number(row.issue_number) }));
}
