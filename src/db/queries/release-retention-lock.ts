import type postgres from "postgres";
import { RETENTION_LOCK_KEY } from "./try-retention-lock.js";

/** Give back the pruning's session advisory lock, on the connection that took it. */
export async function releaseRetentionLock(connection: postgres.ReservedSql): Promise<void> {
  await connection`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`;
}
