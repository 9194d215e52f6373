import type { SqlClient } from "../client.js";

/** How many records the compliance chain holds. */
export async function countComplianceRecords(sql: SqlClient): Promise<number> {
  const [row] = await sql<Array<{ count: number }>>`select count(*)::int as count from compliance_records`;
  return row?.count ?? 0;
}
