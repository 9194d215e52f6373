import type { SqlClient } from "../client.js";

/** Remember a token's `Idempotency-Key` and the task it started, replacing a use older than 24 hours. */
export async function saveIdempotencyKey(
  sql: SqlClient,
  entry: { tokenId: string; key: string; requestSha256: string; taskId: string | null },
): Promise<void> {
  await sql`
    insert into api_idempotency_keys (token_id, key, request_sha256, task_id)
    values (${entry.tokenId}, ${entry.key}, ${entry.requestSha256}, ${entry.taskId})
    on conflict (token_id, key) do update
      set request_sha256 = excluded.request_sha256, task_id = excluded.task_id, created_at = now()`;
}
