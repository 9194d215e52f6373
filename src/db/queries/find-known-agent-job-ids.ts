import type { SqlClient } from "../client.js";

/** Which of these job ids this database knows (a container of an unknown job belongs to another installation). */
export async function findKnownAgentJobIds(sql: SqlClient, ids: readonly string[]): Promise<Set<string>> {
  const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (uuids.length === 0) return new Set();
  const rows = await sql<{ id: string }[]>`select id from agent_jobs where id = any(${uuids}::uuid[])`;
  return new Set(rows.map((row) => row.id));
}
