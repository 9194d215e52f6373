import type { SqlClient } from "../client.js";

/** An effect leased under a replica's name: its id and the attempt the lease belongs to. */
export interface OwnEffectLease {
  id: number;
  attempts: number;
}

/**
 * The effects marked running under `replica`'s name, whatever their lease's time: the replica's own
 * lease sweep compares them with what it runs in memory (`releaseOwnIdleLeases`).
 */
export async function listOwnEffectLeases(sql: SqlClient, replica: string): Promise<OwnEffectLease[]> {
  const rows = await sql<{ id: string; attempts: number }[]>`
    select id, attempts from effects where status = 'running' and locked_by = ${replica} order by id`;
  return rows.map((row) => ({ id: Number(row.id), attempts: Number(row.attempts) }));
}
