import type { Task } from "../../workflow/task.js";
import type { SqlClient } from "../client.js";
import { TASK_COLUMNS, toTask } from "./task-row.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One task by id, without a lock; null when there is none (or the id is not a UUID). */
export async function findTask(sql: SqlClient, taskId: string): Promise<Task | null> {
  if (!UUID.test(taskId)) return null;
  const [row] = await sql.unsafe(`select ${TASK_COLUMNS.join(", ")} from tasks where id = $1`, [taskId]);
  return row ? toTask(row) : null;
}
