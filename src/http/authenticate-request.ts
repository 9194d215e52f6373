import type { SqlClient } from "../db/client.js";
import { findApiToken } from "../db/queries/find-api-token.js";
import { API_TOKEN_PREFIX, hashApiToken, hashesEqual, type ApiRole } from "./api-tokens.js";

/** Who is calling, or the error to answer with. */
export type Authentication =
  | { ok: true; token: { id: string; name: string; role: ApiRole } }
  | { ok: false; status: 401 | 403; body: { error: string; message: string } };

const HOW_TO_GET_A_TOKEN =
  "Send an API token as `Authorization: Bearer fmn_…`. An administrator creates one on the Foreman host with `foreman tokens create --name <who> --role auditor` (roles: admin, operator, auditor, viewer).";

function unauthorized(reason: string): Authentication {
  return { ok: false, status: 401, body: { error: "unauthorized", message: `${reason} ${HOW_TO_GET_A_TOKEN}` } };
}

/**
 * Check an `Authorization` header against the stored token hashes and the roles allowed here.
 * The lookup is by sha256 of the presented token, so its timing reveals nothing about stored tokens;
 * the final comparison is constant-time anyway.
 */
export async function authenticateRequest(
  sql: SqlClient,
  header: string | undefined,
  allowed: readonly ApiRole[],
): Promise<Authentication> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match) return unauthorized("No API token was sent.");
  const token = match[1]!;
  if (!token.startsWith(API_TOKEN_PREFIX)) return unauthorized("That is not a Foreman API token.");
  const hash = hashApiToken(token);
  const row = await findApiToken(sql, hash);
  if (!row || !hashesEqual(row.tokenSha256, hash)) return unauthorized("That API token is not known.");
  if (row.revoked) return unauthorized("That API token has been revoked.");
  const role = row.role as ApiRole;
  if (!allowed.includes(role)) {
    return {
      ok: false,
      status: 403,
      body: {
        error: "forbidden",
        message: `The token "${row.name}" has the role ${role}; this needs one of: ${allowed.join(", ")}. Ask an administrator for a token with the right role.`,
      },
    };
  }
  return { ok: true, token: { id: row.id, name: row.name, role } };
}
