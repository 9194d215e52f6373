import type { SqlClient } from "../client.js";
import { sanitizeDeep } from "../sanitize-text.js";
import type { Cause } from "../../telemetry/tracing.js";
import type { NewInboxEvent } from "./insert-inbox-event.js";

/** An event of a batch, with the cause it was recorded under. */
export interface BatchedInboxEvent {
  event: NewInboxEvent;
  cause: Cause;
}

/**
 * Store a batch of events (the intake's group commit) in one statement, in the batch's order (their
 * ids follow it, so a lane's events keep the order they arrived in), each unless the same delivery
 * or the same meaning is already stored, earlier in the batch included: what `insertInboxEvent`
 * does for one, without a statement per event (each its own round of parse, bind and a socket write).
 * Returns, for each event, whether it was new.
 */
export async function insertInboxEvents(sql: SqlClient, batch: readonly BatchedInboxEvent[]): Promise<boolean[]> {
  if (batch.length === 0) return [];
  // One JSON array, sanitised for PostgreSQL once (jsonb refuses U+0000 and lone surrogates).
  const rows = sanitizeDeep(
    batch.map(({ event, cause }) => ({
      delivery_id: event.deliveryId,
      dedupe_key: event.dedupeKey,
      source: event.source,
      event_name: event.eventName,
      lane: event.lane,
      event: event.event,
      cause_delivery_id: cause.deliveryId,
      traceparent: cause.traceparent,
    })),
  );
  const stored = await sql<{ delivery_id: string; dedupe_key: string }[]>`
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, cause_delivery_id, traceparent)
    select t.delivery_id, t.dedupe_key, t.source, t.event_name, t.lane, t.event, t.cause_delivery_id, t.traceparent
      from rows from (jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
                        as (delivery_id text, dedupe_key text, source text, event_name text, lane text, event jsonb,
                            cause_delivery_id text, traceparent text))
           with ordinality as t(delivery_id, dedupe_key, source, event_name, lane, event, cause_delivery_id, traceparent, n)
     order by t.n
    on conflict do nothing
    returning delivery_id, dedupe_key`;
  // A stored row is the first event of the batch with its delivery id and dedupe key: any later one
  // with both the same was a duplicate of it (delivery ids are unique, so each row is one event's).
  const key = (row: { delivery_id: string; dedupe_key: string }) => JSON.stringify([row.delivery_id, row.dedupe_key]);
  const unclaimed = new Set(stored.map(key));
  return rows.map((row) => unclaimed.delete(key(row)));
}
