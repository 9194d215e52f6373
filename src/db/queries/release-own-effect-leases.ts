import type { SqlClient } from "../client.js";
import type { OwnEffectLease } from "./list-own-effect-leases.js";

/**
 * Put back in the queue effects leased under `replica`'s name that the replica itself no longer
 * runs (a restart of PostgreSQL lost the statement that would have recorded their end). Each is
 * freed only if it is still the same lease: running, under that name, at that attempt, so a lease
 * taken again meanwhile is left alone. Returns how many went back.
 */
export async function releaseOwnEffectLeases(
  sql: SqlClient,
  replica: string,
  leases: readonly OwnEffectLease[],
): Promise<number> {
  if (leases.length === 0) return 0;
  const rows = await sql`
    update effects e set status = 'pending', locked_by = null, lease_until = null
      from unnest(${leases.map((lease) => lease.id)}::bigint[], ${leases.map((lease) => lease.attempts)}::int[])
           as gone(id, attempts)
     where e.id = gone.id and e.attempts = gone.attempts and e.status = 'running' and e.locked_by = ${replica}
    returning e.id`;
  return rows.length;
}
