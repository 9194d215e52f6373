import type { SqlClient } from "../client.js";

/** Jobs marked running whose lease ran out: their runner died. */
export async function findStaleAgentJobs(
  sql: SqlClient,
): Promise<Array<{ id: string; attempt: number; baseSha: string; taskId: string }>> {
  const rows = await sql<{ id: string; attempt: number; base_sha: string; task_id: string }[]>`
    select id, attempt, base_sha, task_id from agent_jobs where status = 'running' and lease_until < now()`;
  return rows.map((row) => ({ id: row.id, attempt: row.attempt, baseSha: row.base_sha, taskId: row.task_id }));
}

/** Which of these job ids this database knows (a container of an unknown job belongs to another installation). */
export async function findKnownAgentJobIds(sql: SqlClient, ids: readonly string[]): Promise<Set<string>> {
  const uuids = ids.filter((id) => /^[0-9a-f-]{36}$/i.test(id));
  if (uuids.length === 0) return new Set();
  const rows = await sql<{ id: string }[]>`select id from agent_jobs where id = any(${uuids}::uuid[])`;
  return new Set(rows.map((row) => row.id));
}

/** Container job labels (`<job id>-<attempt>`) of jobs running with a live lease: their containers are not orphans. */
export async function findLiveAgentJobIds(sql: SqlClient): Promise<Set<string>> {
  const rows = await sql<
    { id: string }[]
  >`select id || '-' || attempt as id from agent_jobs where status = 'running' and lease_until >= now()`;
  return new Set(rows.map((row) => row.id));
}
