import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { ACTIVE_STATES } from "../../workflow/states.js";
import type { DbOrTx } from "../client.js";
import { tasks } from "../schema.js";
import type { TaskRow } from "./task-row.js";

/** Which task an event is about: by id, by issue (the active one), or by pull request number. */
export type TaskLookup =
  | { by: "id"; taskId: string }
  | { by: "issue"; repoId: number; issueNumber: number }
  | { by: "pull_request"; repoId: number; prNumber: number };

/** Find the task an event concerns and lock its row for the rest of the transaction. */
export async function findTaskForUpdate(tx: DbOrTx, lookup: TaskLookup): Promise<TaskRow | null> {
  const where =
    lookup.by === "id"
      ? eq(tasks.id, lookup.taskId)
      : lookup.by === "issue"
        ? and(eq(tasks.repoId, lookup.repoId), eq(tasks.issueNumber, lookup.issueNumber), inArray(tasks.state, [...ACTIVE_STATES]))
        : and(eq(tasks.repoId, lookup.repoId), eq(tasks.prNumber, lookup.prNumber));
  const [row] = await tx.select().from(tasks).where(where).orderBy(desc(tasks.createdAt)).limit(1).for("update");
  return row ?? null;
}

/** Read one task without locking it (for effect executors and the status comment). */
export async function findTaskById(db: DbOrTx, taskId: string): Promise<TaskRow | null> {
  const [row] = await db.select().from(tasks).where(eq(tasks.id, taskId)).limit(1);
  return row ?? null;
}

/** Count tasks by state (for health and tests). */
export async function countTasksByState(db: DbOrTx): Promise<Record<string, number>> {
  const rows = await db.select({ state: tasks.state, count: sql<number>`count(*)::int` }).from(tasks).groupBy(tasks.state);
  return Object.fromEntries(rows.map((row) => [row.state, row.count]));
}
