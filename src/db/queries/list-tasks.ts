import type { SqlClient } from "../client.js";
import { TASK_COLUMNS, toTask } from "./task-row.js";
import type { Task } from "../../workflow/task.js";

/** Which tasks to list: all by default, or one repository's, or those in some states. */
export interface TaskFilter {
  repo?: { owner: string; name: string };
  states?: string[];
  limit: number;
}

/** The tasks matching a filter, the most recently changed first. */
export async function listTasks(sql: SqlClient, filter: TaskFilter): Promise<Task[]> {
  const owner = filter.repo?.owner ?? null;
  const name = filter.repo?.name ?? null;
  const states = filter.states ?? null;
  const rows = await sql`
    select ${sql(TASK_COLUMNS as unknown as string[])} from tasks
     where (${owner}::text is null or lower(repo_owner) = lower(${owner}::text))
       and (${name}::text is null or lower(repo_name) = lower(${name}::text))
       and (${states}::text[] is null or state = any(${states}::text[]))
     order by updated_at desc, id
     limit ${filter.limit}`;
  return rows.map((row) => toTask(row));
}
