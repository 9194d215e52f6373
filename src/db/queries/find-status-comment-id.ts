import { and, desc, eq, isNotNull } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { tasks } from "../schema.js";

/** The issue's status comment id as last recorded by any task on it (one comment per issue). */
export async function findStatusCommentId(db: DbOrTx, repoId: number, issueNumber: number): Promise<number | null> {
  const [row] = await db
    .select({ id: tasks.statusCommentId })
    .from(tasks)
    .where(and(eq(tasks.repoId, repoId), eq(tasks.issueNumber, issueNumber), isNotNull(tasks.statusCommentId)))
    .orderBy(desc(tasks.createdAt))
    .limit(1);
  return row?.id ?? null;
}
