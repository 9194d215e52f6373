import type { SqlClient } from "../client.js";
import { REPLICA_LOCK_CLASS } from "./replica-liveness-sql.js";

/**
 * On the caller's own session (a reserved connection), try to take the replica's liveness lock and
 * record that the replica of this name announces its liveness. Returns false when another live
 * session holds the lock (another process runs under the same name).
 */
export async function takeReplicaLock(sql: SqlClient, name: string): Promise<boolean> {
  const [row] = await sql<{ held: boolean }[]>`
    with lock as (select pg_try_advisory_lock(${REPLICA_LOCK_CLASS}, hashtext(${name})) as held),
         announce as (
           insert into replicas (name) select ${name} from lock where held
           on conflict (name) do update set started_at = now()
           returning name)
    select held from lock`;
  return row?.held ?? false;
}
