import type postgres from "postgres";

// Distinct from the other advisory lock keys (migrations 7_340_011, chain 7_340_012, checkpoints
// 7_340_013, job claims 7_340_014, replica liveness 7_340_015, reconciliation 7_340_021).
/** The retention pruning's lock: one replica prunes per round; the others skip it. */
export const RETENTION_LOCK_KEY = 7_340_022;

/** Try to take the pruning's session advisory lock on a reserved connection; false if another replica holds it. */
export async function tryRetentionLock(connection: postgres.ReservedSql): Promise<boolean> {
  const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${RETENTION_LOCK_KEY}) as locked`;
  return row?.locked === true;
}
