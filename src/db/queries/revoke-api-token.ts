import type { SqlClient } from "../client.js";

/** Revoke a token at `now` (ISO 8601); returns its name and role, or null if no unrevoked token has this id. */
export async function revokeApiToken(
  sql: SqlClient,
  id: string,
  now: string,
): Promise<{ name: string; role: string } | null> {
  const [row] = await sql<Array<{ name: string; role: string }>>`
    update api_tokens set revoked_at = ${now} where id = ${id} and revoked_at is null returning name, role`;
  return row ?? null;
}
