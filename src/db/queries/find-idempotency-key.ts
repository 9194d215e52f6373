import type { SqlClient } from "../client.js";

/** How long an `Idempotency-Key` of `POST /api/tasks` is remembered. */
export const IDEMPOTENCY_KEY_HOURS = 24;

/** A token's `Idempotency-Key` used within the last 24 hours, locked for this transaction; null when new (or older). */
export async function findIdempotencyKey(
  sql: SqlClient,
  tokenId: string,
  key: string,
): Promise<{ requestSha256: string; taskId: string | null } | null> {
  const [row] = await sql<{ request_sha256: string; task_id: string | null }[]>`
    select request_sha256, task_id from api_idempotency_keys
     where token_id = ${tokenId} and key = ${key}
       and created_at > now() - make_interval(hours => ${IDEMPOTENCY_KEY_HOURS})
     for update`;
  return row ? { requestSha256: row.request_sha256, taskId: row.task_id } : null;
}
