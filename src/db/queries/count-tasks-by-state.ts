import type { SqlClient } from "../client.js";

/** Count tasks by state (for health and tests). */
export async function countTasksByState(sql: SqlClient): Promise<Record<string, number>> {
  const rows = await sql<
    { state: string; count: number }[]
  >`select state, count(*)::int as count from tasks group by state`;
  return Object.fromEntries(rows.map((row) => [row.state, row.count]));
}
