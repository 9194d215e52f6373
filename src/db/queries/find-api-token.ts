import type { SqlClient } from "../client.js";

/** A stored token as authentication sees it. */
export interface ApiTokenRow {
  id: string;
  name: string;
  role: string;
  tokenSha256: string;
  revoked: boolean;
}

/** The token whose hash this is, or null. */
export async function findApiToken(sql: SqlClient, tokenSha256: string): Promise<ApiTokenRow | null> {
  const [row] = await sql<ApiTokenRow[]>`
    select id, name, role, token_sha256 as "tokenSha256", revoked_at is not null as revoked from api_tokens where token_sha256 = ${tokenSha256}`;
  return row ?? null;
}
