import type { SqlClient } from "../client.js";

/** Whether the repo is in red mode: the latest completed suite on its default branch failed. */
export async function isRepoRed(sql: SqlClient, repoId: number): Promise<boolean> {
  const [row] = await sql<
    { ci: string | null }[]
  >`select default_branch_ci as ci from repositories where id = ${repoId}`;
  return row?.ci === "failure";
}
