import { and, eq, sql } from "drizzle-orm";
import type { Task } from "../../workflow/task.js";
import type { DbOrTx } from "../client.js";
import { tasks } from "../schema.js";
import { toTaskColumns } from "./task-row.js";

/** A save lost a race: another worker changed the task since it was read. */
export class TaskVersionConflict extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} changed since it was read`);
    this.name = "TaskVersionConflict";
  }
}

/** Insert a new task. The unique partial index refuses a second active task for the same issue. */
export async function insertTask(tx: DbOrTx, task: Task): Promise<void> {
  await tx.insert(tasks).values({ ...toTaskColumns(task), version: 1 });
}

/** Save a task with compare-and-swap on its version; throws TaskVersionConflict when it moved. */
export async function saveTask(tx: DbOrTx, task: Task, expectedVersion: number): Promise<void> {
  const { id, ...columns } = toTaskColumns(task);
  const updated = await tx
    .update(tasks)
    .set({ ...columns, version: sql`${tasks.version} + 1` })
    .where(and(eq(tasks.id, id), eq(tasks.version, expectedVersion)))
    .returning({ id: tasks.id });
  if (updated.length === 0) throw new TaskVersionConflict(id);
}

/** Remember where the status comment is (bookkeeping; not a state change). */
export async function setStatusCommentId(db: DbOrTx, taskId: string, commentId: number): Promise<void> {
  await db.update(tasks).set({ statusCommentId: commentId }).where(eq(tasks.id, taskId));
}
