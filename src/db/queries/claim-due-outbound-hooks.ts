import type { SqlClient } from "../client.js";
import type { OutboundHookKind } from "../schema.js";
import { buildReplicaDeadSql } from "./replica-liveness-sql.js";

/** A notification leased for one delivery attempt. */
export interface ClaimedOutboundHook {
  id: number;
  kind: OutboundHookKind;
  idempotencyKey: string;
  taskId: string | null;
  body: string | null;
  attempts: number;
}

/** Who claims: this replica's name, and that name again when it has just taken its liveness lock at start. */
export interface OutboundHookClaimer {
  /** Recorded as the lease's owner (`locked_by`); null for a caller without a replica name. */
  replica: string | null;
  /** Set on a process's first round after it took its own liveness lock: leases under this name are a dead process's. */
  restarted?: string | null;
}

/**
 * Lease up to `limit` pending notifications of the given kinds that are due at `now`, or leased by a
 * replica that is dead (`buildReplicaDeadSql`) or by this name's previous process (`restarted`):
 * count the attempt, push `next_at` to `leaseUntil` and record the owner. A replica that dies
 * mid-delivery leaves it to the next claim of any live replica; an owner without a liveness row
 * leaves it until `next_at`.
 */
export async function claimDueOutboundHooks(
  sql: SqlClient,
  now: string,
  leaseUntil: string,
  limit: number,
  kinds: readonly OutboundHookKind[],
  claimer: OutboundHookClaimer = { replica: null },
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
    update outbound_hooks set attempts = attempts + 1, next_at = ${leaseUntil}, locked_by = ${claimer.replica}
    where id in (
      select id from outbound_hooks
       where status = 'pending' and kind = any(${kinds as string[]})
         and (next_at <= ${now}
              or (locked_by is not null
                  and (locked_by = ${claimer.restarted ?? null}::text or ${sql.unsafe(buildReplicaDeadSql("locked_by"))})))
      order by next_at, id limit ${limit} for update skip locked
    )
    returning id, kind, idempotency_key as "idempotencyKey", task_id as "taskId", body, attempts`;
  return rows.map((row) => ({ ...row, id: Number(row.id) })).sort((a, b) => a.id - b.id);
}
