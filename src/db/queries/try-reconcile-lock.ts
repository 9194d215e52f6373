import type postgres from "postgres";

// Distinct from the other advisory lock keys (migrations 7_340_011, chain 7_340_012, checkpoints
// 7_340_013, job claims 7_340_014, replica liveness 7_340_015).
/** The reconciliation sweep's lock: one replica sweeps at a time; the others skip their round. */
export const RECONCILE_LOCK_KEY = 7_340_021;

/** Try to take the sweep's session advisory lock on a reserved connection; false if another replica holds it. */
export async function tryReconcileLock(connection: postgres.ReservedSql): Promise<boolean> {
  const [row] = await connection<{ locked: boolean }[]>`select pg_try_advisory_lock(${RECONCILE_LOCK_KEY}) as locked`;
  return row?.locked === true;
}
