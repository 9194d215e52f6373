import type { SqlClient } from "../client.js";
import { IDEMPOTENCY_KEY_HOURS } from "./find-idempotency-key.js";

/**
 * Delete up to `limit` `Idempotency-Key`s of `POST /api/tasks` that expired (older than 24 hours)
 * and were last used more than `retentionDays` ago by the database's clock. An expired key no
 * longer answers a request (`find-idempotency-key.ts`); the task it started keeps its own records.
 * Returns how many went.
 */
export async function deleteExpiredIdempotencyKeys(
  sql: SqlClient,
  retentionDays: number,
  limit: number,
): Promise<number> {
  const rows = await sql`
    delete from api_idempotency_keys
     where (token_id, key) in (
       select token_id, key from api_idempotency_keys
        where created_at < now() - make_interval(hours => ${IDEMPOTENCY_KEY_HOURS})
          and created_at < now() - make_interval(days => ${retentionDays})
        order by token_id, key
        limit ${limit}
        for update skip locked)
    returning token_id`;
  return rows.count;
}
