import type { Task } from "../../workflow/task.js";
import type { SqlClient } from "../client.js";
import { TASK_COLUMNS, toTask } from "./task-row.js";

/** What to list: optional filters, a page size, and the keyset cursor of the last row seen. */
export interface TaskListQuery {
  repository?: { owner: string; name: string };
  states?: string[];
  types?: string[];
  limit: number;
  /** Newest first (`created`, the default, which the cursor pages through) or most recently changed first (`updated`, no cursor). */
  order?: "created" | "updated";
  /** The `created_at` and `id` of the last task of the previous page (newest first). */
  after?: { createdAt: string; id: string };
}

/** Tasks newest first, filtered, one page: `limit` rows and whether more follow. */
export async function listTasks(sql: SqlClient, query: TaskListQuery): Promise<{ tasks: Task[]; more: boolean }> {
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (query.repository) {
    where.push(`lower(repo_owner) = lower(${bind(query.repository.owner)})`);
    where.push(`lower(repo_name) = lower(${bind(query.repository.name)})`);
  }
  if (query.states?.length) where.push(`state = any(${bind(query.states)}::text[])`);
  if (query.types?.length) where.push(`type = any(${bind(query.types)}::text[])`);
  if (query.after) {
    if (query.order === "updated") throw new Error("listTasks: a cursor pages by creation, not by last change");
    where.push(`(created_at, id) < (${bind(query.after.createdAt)}::timestamptz, ${bind(query.after.id)}::uuid)`);
  }
  const rows = await sql.unsafe(
    `select ${TASK_COLUMNS.join(", ")} from tasks ${where.length ? `where ${where.join(" and ")}` : ""}
      order by ${query.order === "updated" ? "updated_at" : "created_at"} desc, id desc limit ${bind(query.limit + 1)}`,
    params as never[],
  );
  return { tasks: rows.slice(0, query.limit).map((row) => toTask(row)), more: rows.length > query.limit };
}
