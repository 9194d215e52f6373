import type { SqlClient } from "../client.js";

/**
 * Extend the lease of an effect this run still holds: the same worker, the same attempt, still
 * `running`. Returns false when the lease is lost (it ran out and the effect went back to the queue,
 * or another run has it now): the caller must stop.
 */
export async function renewEffectLease(
  sql: SqlClient,
  effect: { id: number; workerId: string; attempts: number },
  leaseMs: number,
): Promise<boolean> {
  const rows = await sql`
    update effects set lease_until = now() + make_interval(secs => ${leaseMs / 1000})
     where id = ${effect.id} and status = 'running' and locked_by = ${effect.workerId} and attempts = ${effect.attempts}
    returning id`;
  return rows.length > 0;
}
