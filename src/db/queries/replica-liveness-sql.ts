/**
 * The class key of the replicas' liveness locks: `pg_advisory_lock(7_340_015, hashtext(name))`.
 * Distinct from every other advisory lock key (migrations 7_340_011, chain 7_340_012, checkpoints
 * 7_340_013, job claims 7_340_014).
 */
export const REPLICA_LOCK_CLASS = 7_340_015;

/**
 * SQL (for a `where`) that is true when the lease owner named by `column` is a replica known to be
 * dead: it announced its liveness (a `replicas` row) and no session holds its lock now. PostgreSQL
 * drops a session's advisory locks the moment its connection ends, so a killed process is dead at
 * once. An owner without a row (a replica of an older version, a test's name) is never called dead:
 * its lease runs out as before. `column` is a constant of the calling query, never input.
 */
export function buildReplicaDeadSql(column: string): string {
  return `(exists (select 1 from replicas r where r.name = ${column})
           and not exists (
                 select 1 from pg_locks l
                  where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                    and l.database = (select oid from pg_database where datname = current_database())
                    and l.classid = ${REPLICA_LOCK_CLASS}::oid
                    and l.objid = (hashtext(${column})::bigint & 4294967295)::oid))`;
}
