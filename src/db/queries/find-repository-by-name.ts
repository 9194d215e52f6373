import type { SqlClient } from "../client.js";

/** An installed repository Foreman knows, by `owner/name` (case-insensitive); null when unknown or removed. */
export async function findRepositoryByName(
  sql: SqlClient,
  fullName: string,
): Promise<{ id: number; installationId: number; fullName: string } | null> {
  const [row] = await sql<{ id: string; installation_id: string; full_name: string }[]>`
    select id, installation_id, full_name from repositories
     where lower(full_name) = lower(${fullName}) and removed_at is null`;
  return row ? { id: Number(row.id), installationId: Number(row.installation_id), fullName: row.full_name } : null;
}
