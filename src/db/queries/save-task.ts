import type { Task } from "../../workflow/task.js";
import type { SqlClient } from "../client.js";
import { TASK_COLUMNS, toTaskColumns } from "./task-row.js";

/** A save lost a race: another worker changed the task since it was read. */
export class TaskVersionConflict extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} changed since it was read`);
    this.name = "TaskVersionConflict";
  }
}

/** Insert a new task. The unique partial index refuses a second active task for the same issue. */
export async function insertTask(sql: SqlClient, task: Task): Promise<void> {
  await sql`insert into tasks ${sql(toTaskColumns(task) as Record<string, never>, ...TASK_COLUMNS)}`;
}

/** Save a task with compare-and-swap on its version; throws TaskVersionConflict when it moved. */
export async function saveTask(sql: SqlClient, task: Task, expectedVersion: number): Promise<void> {
  const { id: _id, ...columns } = toTaskColumns(task);
  const names = TASK_COLUMNS.filter((name) => name !== "id");
  const updated = await sql`
    update tasks set ${sql(columns as unknown as Record<string, never>, ...names)}, version = version + 1
     where id = ${task.id} and version = ${expectedVersion}
    returning id`;
  if (updated.length === 0) throw new TaskVersionConflict(task.id);
}

/** Remember where the status comment is (bookkeeping; not a state change). */
export async function setStatusCommentId(sql: SqlClient, taskId: string, commentId: number): Promise<void> {
  await sql`update tasks set status_comment_id = ${commentId} where id = ${taskId}`;
}

/** Remember the check run and the head it is on (bookkeeping; not a state change). */
export async function setCheckRun(
  sql: SqlClient,
  taskId: string,
  checkRun: { id: number; sha: string },
): Promise<void> {
  await sql`update tasks set check_run_id = ${checkRun.id}, check_run_sha = ${checkRun.sha} where id = ${taskId}`;
}
