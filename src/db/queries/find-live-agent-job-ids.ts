import type { SqlClient } from "../client.js";
import { buildReplicaDeadSql } from "./replica-liveness-sql.js";

/**
 * Container job labels (`<job id>-<attempt>`) of jobs running with a live lease on a replica not
 * known to be dead: their containers are not orphans. `restarted` as in `findStaleAgentJobs`.
 */
export async function findLiveAgentJobIds(sql: SqlClient, restarted: string | null = null): Promise<Set<string>> {
  const rows = await sql<{ id: string }[]>`
    select id || '-' || attempt as id from agent_jobs
     where status = 'running' and lease_until >= now()
       and (${restarted}::text is null or replica is distinct from ${restarted}::text)
       and not ${sql.unsafe(buildReplicaDeadSql("replica"))}`;
  return new Set(rows.map((row) => row.id));
}
