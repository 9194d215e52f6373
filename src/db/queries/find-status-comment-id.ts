import type { SqlClient } from "../client.js";

/** The issue's status comment id as last recorded by any task on it (one comment per issue). */
export async function findStatusCommentId(sql: SqlClient, repoId: number, issueNumber: number): Promise<number | null> {
  const [row] = await sql<{ id: string }[]>`
    select status_comment_id as id from tasks
     where repo_id = ${repoId} and issue_number = ${issueNumber} and status_comment_id is not null
     order by created_at desc limit 1`;
  return row ? Number(row.id) : null;
}
