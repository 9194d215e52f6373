import type { SqlClient } from "../client.js";

/** A task's row as JSON (column names as keys), whatever columns the table has; null if no such task. */
export async function findTaskDocument(sql: SqlClient, taskId: string): Promise<Record<string, unknown> | null> {
  const [row] = await sql<
    Array<{ task: Record<string, unknown> }>
  >`select to_jsonb(t) as task from tasks t where t.id = ${taskId}`;
  return row?.task ?? null;
}
