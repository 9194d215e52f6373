import { and, desc, eq } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { tasks } from "../schema.js";

/** The issue lane of the task that owns a PR, so PR events stay in order with the issue's. */
export async function findLaneForPullRequest(db: DbOrTx, repoId: number, prNumber: number): Promise<string | null> {
  const [row] = await db
    .select({ issueNumber: tasks.issueNumber })
    .from(tasks)
    .where(and(eq(tasks.repoId, repoId), eq(tasks.prNumber, prNumber)))
    .orderBy(desc(tasks.createdAt))
    .limit(1);
  return row ? `repo:${repoId}#${row.issueNumber}` : null;
}
