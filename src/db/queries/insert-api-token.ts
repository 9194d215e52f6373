import type { SqlClient } from "../client.js";

/** A token's row, without the token itself. */
export interface NewApiToken {
  id: string;
  name: string;
  role: string;
  tokenSha256: string;
}

/** Store a new token's hash, name and role. */
export async function insertApiToken(sql: SqlClient, token: NewApiToken): Promise<void> {
  await sql`insert into api_tokens (id, name, role, token_sha256) values (${token.id}, ${token.name}, ${token.role}, ${token.tokenSha256})`;
}
