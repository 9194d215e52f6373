import type { SqlClient } from "../client.js";

/** Remember where the status comment is (bookkeeping; not a state change). */
export async function setStatusCommentId(sql: SqlClient, taskId: string, commentId: number): Promise<void> {
  await sql`update tasks set status_comment_id = ${commentId} where id = ${taskId}`;
}
