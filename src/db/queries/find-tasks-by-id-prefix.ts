import type { SqlClient } from "../client.js";
import { TASK_COLUMNS, toTask } from "./task-row.js";
import type { Task } from "../../workflow/task.js";

/** The tasks whose id is or starts with `prefix` (a full id, or the short one `foreman tasks list` shows); at most two, enough to tell an ambiguous prefix. */
export async function findTasksByIdPrefix(sql: SqlClient, prefix: string): Promise<Task[]> {
  const rows = await sql`
    select ${sql(TASK_COLUMNS as unknown as string[])} from tasks
     where id::text like ${`${prefix.toLowerCase()}%`}
     order by id
     limit 2`;
  return rows.map((row) => toTask(row));
}
