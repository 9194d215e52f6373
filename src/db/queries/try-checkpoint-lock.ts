import type { SqlClient } from "../client.js";

// Replicas take turns making checkpoints; a replica that finds the lock taken skips this round.
const CHECKPOINT_LOCK_KEY = 7_340_013;

/** Try to take the checkpoint lock until the caller's transaction ends; false if another replica holds it. */
export async function tryCheckpointLock(sql: SqlClient): Promise<boolean> {
  const [row] = await sql<
    Array<{ locked: boolean }>
  >`select pg_try_advisory_xact_lock(${CHECKPOINT_LOCK_KEY}) as locked`;
  return row?.locked === true;
}
