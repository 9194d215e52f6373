import type { SqlClient } from "../client.js";

/** A token as listed to an admin: never the token or its hash. */
export interface ApiTokenListing {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Every token, oldest first. */
export async function listApiTokens(sql: SqlClient): Promise<ApiTokenListing[]> {
  const rows = await sql<ApiTokenListing[]>`
    select id, name, role,
      to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "createdAt",
      to_char(revoked_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as "revokedAt"
    from api_tokens order by created_at, id`;
  return rows.map((row) => ({ ...row }));
}
