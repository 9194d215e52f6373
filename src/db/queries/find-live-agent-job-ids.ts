import type { SqlClient } from "../client.js";

/** Container job labels (`<job id>-<attempt>`) of jobs running with a live lease: their containers are not orphans. */
export async function findLiveAgentJobIds(sql: SqlClient): Promise<Set<string>> {
  const rows = await sql<
    { id: string }[]
  >`select id || '-' || attempt as id from agent_jobs where status = 'running' and lease_until >= now()`;
  return new Set(rows.map((row) => row.id));
}
