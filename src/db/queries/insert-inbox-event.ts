import { toJsonText, type SqlClient } from "../client.js";
import { sanitizeDeep } from "../sanitize-text.js";
import { captureCause, type Cause } from "../../telemetry/tracing.js";

/** An event to store in the inbox. */
export interface NewInboxEvent {
  deliveryId: string;
  dedupeKey: string;
  source: "github" | "effect" | "operator";
  eventName: string;
  lane: string;
  event: unknown;
}

/** The channel workers LISTEN on (a trigger notifies it on every insert), so another replica wakes up when work arrives. */
export const WORK_CHANNEL = "foreman_work";

/** Store an event (sanitised for PostgreSQL) unless the same delivery or the same meaning is already stored, with its cause (by default the current work's: delivery, span). Returns whether it was new. */
export async function insertInboxEvent(
  sql: SqlClient,
  stored: NewInboxEvent,
  delayMs = 0,
  cause: Cause = captureCause(),
): Promise<boolean> {
  const event = sanitizeDeep(stored);
  const rows = await sql`
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, available_at, cause_delivery_id, traceparent)
    values (${event.deliveryId}, ${event.dedupeKey}, ${event.source}, ${event.eventName}, ${event.lane}, ${toJsonText(event.event)},
            now() + make_interval(secs => ${delayMs / 1000}), ${cause.deliveryId}, ${cause.traceparent})
    on conflict do nothing
    returning id`;
  return rows.length > 0;
}
