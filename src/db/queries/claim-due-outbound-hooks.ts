import type { SqlClient } from "../client.js";
import type { OutboundHookKind } from "../schema.js";

/** A notification leased for one delivery attempt. */
export interface ClaimedOutboundHook {
  id: number;
  kind: OutboundHookKind;
  idempotencyKey: string;
  taskId: string | null;
  body: string | null;
  attempts: number;
}

/**
 * Lease up to `limit` pending notifications of the given kinds that are due at `now`: count the attempt and push
 * `next_at` to `leaseUntil`, so a replica that dies mid-delivery leaves it to be tried again then.
 */
export async function claimDueOutboundHooks(
  sql: SqlClient,
  now: string,
  leaseUntil: string,
  limit: number,
  kinds: readonly OutboundHookKind[],
): Promise<ClaimedOutboundHook[]> {
  const rows = await sql<
    Array<{
      id: string;
      kind: OutboundHookKind;
      idempotencyKey: string;
      taskId: string | null;
      body: string | null;
      attempts: number;
    }>
  >`
    update outbound_hooks set attempts = attempts + 1, next_at = ${leaseUntil}
    where id in (
      select id from outbound_hooks where status = 'pending' and next_at <= ${now} and kind = any(${kinds as string[]})
      order by next_at, id limit ${limit} for update skip locked
    )
    returning id, kind, idempotency_key as "idempotencyKey", task_id as "taskId", body, attempts`;
  return rows.map((row) => ({ ...row, id: Number(row.id) })).sort((a, b) => a.id - b.id);
}
