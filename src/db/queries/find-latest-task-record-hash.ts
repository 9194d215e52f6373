import type { SqlClient } from "../client.js";

/** The hash of the task's latest compliance record: what its evidence link is pinned to. */
export async function findLatestTaskRecordHash(sql: SqlClient, taskId: string): Promise<string | null> {
  const [row] = await sql<
    Array<{ hash: string }>
  >`select hash from compliance_records where task_id = ${taskId} order by seq desc limit 1`;
  return row?.hash ?? null;
}
