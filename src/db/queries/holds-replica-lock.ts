import type { SqlClient } from "../client.js";
import { REPLICA_LOCK_CLASS } from "./replica-liveness-sql.js";

/** Whether the caller's own session still holds the replica's liveness lock (it fails if the connection is gone). */
export async function holdsReplicaLock(sql: SqlClient, name: string): Promise<boolean> {
  const [row] = await sql<{ held: boolean }[]>`
    select exists (
             select 1 from pg_locks l
              where l.locktype = 'advisory' and l.granted and l.pid = pg_backend_pid() and l.objsubid = 2
                and l.classid = ${REPLICA_LOCK_CLASS}::oid
                and l.objid = (hashtext(${name})::bigint & 4294967295)::oid) as held`;
  return row?.held ?? false;
}
