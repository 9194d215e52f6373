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
