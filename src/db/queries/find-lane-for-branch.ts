import { buildIssueLane } from "./issue-lane.js";
import type { SqlClient } from "../client.js";

/** The issue lane of the newest task working on a branch, so its CI events stay in order with the issue's. */
export async function findLaneForBranch(sql: SqlClient, repoId: number, branch: string): Promise<string | null> {
  const [row] = await sql<{ issue_number: number }[]>`
    select issue_number from tasks where repo_id = ${repoId} and branch = ${branch} order by created_at desc limit 1`;
  return row ? buildIssueLane(repoId, row.issue_number) : null;
}
