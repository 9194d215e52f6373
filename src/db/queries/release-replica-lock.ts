import type { SqlClient } from "../client.js";
import { REPLICA_LOCK_CLASS } from "./replica-liveness-sql.js";

/** On the session that holds it, release the replica's liveness lock (a clean stop). */
export async function releaseReplicaLock(sql: SqlClient, name: string): Promise<void> {
  await sql`select pg_advisory_unlock(${REPLICA_LOCK_CLASS}, hashtext(${name}))`;
}
