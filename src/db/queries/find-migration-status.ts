import type { SqlClient } from "../client.js";

/** The server's version and when the newest applied migration was made (drizzle's `created_at`, null: none applied). */
export interface MigrationStatus {
  serverVersion: string;
  lastAppliedAt: number | null;
}

/** Read what drizzle's migrator recorded (`drizzle.__drizzle_migrations`), if anything: a read only. */
export async function findMigrationStatus(sql: SqlClient): Promise<MigrationStatus> {
  const [server] = await sql<{ version: string; migrated: boolean }[]>`
    select current_setting('server_version') as version,
           to_regclass('drizzle.__drizzle_migrations') is not null as migrated`;
  if (!server?.migrated) return { serverVersion: server?.version ?? "unknown", lastAppliedAt: null };
  const [last] = await sql<
    { at: string | null }[]
  >`select max(created_at)::text as at from drizzle.__drizzle_migrations`;
  return { serverVersion: server.version, lastAppliedAt: last?.at == null ? null : Number(last.at) };
}
