import type { SqlClient } from "../client.js";

/** A task as the dashboard lists it. */
export interface BoardTask {
  id: string;
  repoId: number;
  repo: string;
  issueNumber: number;
  issueTitle: string;
  state: string;
  step: string | null;
  prNumber: number | null;
  prUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The newest tasks (at most `limit`) of the given repositories, most recently changed first. */
export async function listBoardTasks(sql: SqlClient, repoIds: readonly number[], limit = 500): Promise<BoardTask[]> {
  if (repoIds.length === 0) return [];
  const rows = await sql<Array<Omit<BoardTask, "repoId"> & { repoId: string }>>`
    select id, repo_id as "repoId", repo_owner || '/' || repo_name as repo, issue_number as "issueNumber",
           issue_title as "issueTitle", state, step, pr_number as "prNumber", pr_url as "prUrl",
           created_at as "createdAt", updated_at as "updatedAt"
      from tasks
     where repo_id = any(${sql.array(repoIds.map(String))}::bigint[])
     order by updated_at desc, id
     limit ${limit}`;
  return rows.map((row) => ({ ...row, repoId: Number(row.repoId) }));
}
