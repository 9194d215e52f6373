import type { SqlClient } from "../client.js";

/** A claimed inbox row. */
export interface ClaimedInboxEvent {
  id: number;
  deliveryId: string;
  source: string;
  eventName: string;
  lane: string;
  event: unknown;
  attempts: number;
  /** The GitHub delivery behind it and the span that stored it (null when unknown). */
  causeDeliveryId?: string | null;
  traceparent?: string | null;
}

/**
 * The claim's statement, unrun (postgres.js runs a query when awaited): `claimNextInboxEvent` runs
 * it; a test explains it, to check that a backlog does not make each claim read every pending row.
 * It walks pending rows oldest first (`webhook_deliveries_pending_id_idx`) and stops at the first
 * it may take; the lane check uses `webhook_deliveries_pending_idx`.
 */
export function buildClaimStatement(sql: SqlClient) {
  return sql`
    update webhook_deliveries w
       set status = 'done', processed_at = now()
     where w.id = (
             select d.id
               from webhook_deliveries d
              where d.status = 'pending'
                and d.available_at <= now()
                and not exists (
                      select 1 from webhook_deliveries e
                       where e.lane = d.lane and e.status = 'pending' and e.id < d.id)
              order by d.id
              limit 1
                for update skip locked)
    returning w.id, w.delivery_id, w.source, w.event_name, w.lane, w.event, w.attempts, w.cause_delivery_id, w.traceparent`;
}

/**
 * Take the oldest pending event whose lane has nothing older pending, skipping rows another
 * worker holds: events of one issue run in order, different issues run concurrently. It is marked
 * done in the same statement; this must run inside the transaction that processes the event, so
 * a failure rolls the mark back and the event stays pending.
 */
export async function claimNextInboxEvent(sql: SqlClient): Promise<ClaimedInboxEvent | null> {
  const rows = await buildClaimStatement(sql);
  const row = rows[0];
  if (!row) return null;
  return {
    id: Number(row.id),
    deliveryId: String(row.delivery_id),
    source: String(row.source),
    eventName: String(row.event_name),
    lane: String(row.lane),
    event: row.event,
    attempts: Number(row.attempts),
    causeDeliveryId: row.cause_delivery_id === null ? null : String(row.cause_delivery_id),
    traceparent: row.traceparent === null ? null : String(row.traceparent),
  };
}
