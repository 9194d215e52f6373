import type { SqlClient } from "../client.js";
import { buildReplicaDeadSql } from "./replica-liveness-sql.js";

/**
 * Jobs marked running whose runner died: their lease ran out, or their replica is dead
 * (`buildReplicaDeadSql`). `restarted` names this process when it has just taken its own liveness
 * lock: jobs under its own name are then a previous process's.
 */
export async function findStaleAgentJobs(
  sql: SqlClient,
  restarted: string | null = null,
): Promise<Array<{ id: string; attempt: number; baseSha: string; taskId: string }>> {
  const rows = await sql<{ id: string; attempt: number; base_sha: string; task_id: string }[]>`
    select id, attempt, base_sha, task_id from agent_jobs
     where status = 'running'
       and (lease_until < now() or replica = ${restarted}::text or ${sql.unsafe(buildReplicaDeadSql("replica"))})`;
  return rows.map((row) => ({ id: row.id, attempt: row.attempt, baseSha: row.base_sha, taskId: row.task_id }));
}
