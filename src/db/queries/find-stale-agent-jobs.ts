import type { SqlClient } from "../client.js";
import { buildReplicaDeadSql } from "./replica-liveness-sql.js";

/** This replica's name and the jobs it runs in memory: a job under the name that is not among them has no runner. */
export interface OwnRunningJobs {
  replica: string;
  runningIds: readonly string[];
}

/**
 * Jobs marked running whose runner died: their lease ran out, or their replica is dead
 * (`buildReplicaDeadSql`). `restarted` names this process when it has just taken its own liveness
 * lock: jobs under its own name are then a previous process's. `own` (while this process holds its
 * liveness lock) adds the jobs under its name it does not run: their end was never recorded
 * (PostgreSQL restarted under it), and nothing else would free them before their lease ran out.
 */
export async function findStaleAgentJobs(
  sql: SqlClient,
  restarted: string | null = null,
  own: OwnRunningJobs | null = null,
): Promise<Array<{ id: string; attempt: number; baseSha: string; taskId: string }>> {
  const rows = await sql<{ id: string; attempt: number; base_sha: string; task_id: string }[]>`
    select id, attempt, base_sha, task_id from agent_jobs
     where status = 'running'
       and (lease_until < now() or replica = ${restarted}::text or ${sql.unsafe(buildReplicaDeadSql("replica"))}
            or (replica = ${own?.replica ?? null}::text and id <> all(${own?.runningIds ?? []}::uuid[])))`;
  return rows.map((row) => ({ id: row.id, attempt: row.attempt, baseSha: row.base_sha, taskId: row.task_id }));
}
