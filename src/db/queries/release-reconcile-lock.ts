import type postgres from "postgres";
import { RECONCILE_LOCK_KEY } from "./try-reconcile-lock.js";

/** Give back the sweep's session advisory lock, on the connection that took it. */
export async function releaseReconcileLock(connection: postgres.ReservedSql): Promise<void> {
  await connection`select pg_advisory_unlock(${RECONCILE_LOCK_KEY})`;
}
