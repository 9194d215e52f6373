import type { SqlClient } from "../client.js";
import { buildReplicaDeadSql } from "./replica-liveness-sql.js";

/**
 * Put effects whose worker died mid-flight back in the queue: their lease expired, or their replica
 * is dead (it announced its liveness and lost its lock: `buildReplicaDeadSql`), which a restarted
 * process or any survivor sees at once. `restarted` names this process when it has just taken its
 * own liveness lock: leases under its own name are then a previous process's, and go back too.
 */
export async function releaseExpiredLeases(sql: SqlClient, restarted: string | null = null): Promise<number> {
  const rows = await sql`
    update effects set status = 'pending', locked_by = null, lease_until = null
     where status = 'running'
       and (lease_until < now() or locked_by = ${restarted}::text or ${sql.unsafe(buildReplicaDeadSql("locked_by"))})
    returning id`;
  return rows.length;
}
