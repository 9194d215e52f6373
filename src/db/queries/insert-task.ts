import type { Task } from "../../workflow/task.js";
import type { SqlClient } from "../client.js";
import { TASK_COLUMNS, toTaskColumns } from "./task-row.js";

/** Insert a new task. The unique partial index refuses a second active task for the same issue. */
export async function insertTask(sql: SqlClient, task: Task): Promise<void> {
  await sql`insert into tasks ${sql(toTaskColumns(task) as Record<string, never>, ...TASK_COLUMNS)}`;
}
