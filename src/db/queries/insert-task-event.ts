import { toJsonText, type SqlClient } from "../client.js";
import { sanitizeDeep } from "../sanitize-text.js";
import { captureCause } from "../../telemetry/tracing.js";
import type { NewInboxEvent } from "./insert-inbox-event.js";

/** How an event Foreman produced is to be stored. */
export interface TaskEventTiming {
  /** Due this long from now (a timer): stored pending, never applied at once. */
  delayMs?: number;
  /** Whether the caller will apply the event in its own transaction when it may (false: always queue it). */
  applyNow: boolean;
}

/**
 * Store an event produced inside Foreman (an effect's result, an agent job's start or end, a timer,
 * a repository turning green) in its lane: the one path by which Foreman's own events enter the inbox.
 * The rule: a due event whose lane has nothing older pending, for a caller that applies it now, is
 * stored as done and the caller applies it in the same transaction ("apply"); anything else waits its
 * turn as pending ("queued"). "duplicate": an event with this delivery id was stored before (twice is once).
 * The row keeps the current work's cause (delivery, span), so what it leads to names them.
 */
export async function insertTaskEvent(
  sql: SqlClient,
  stored: NewInboxEvent,
  timing: TaskEventTiming,
): Promise<"apply" | "queued" | "duplicate"> {
  const event = sanitizeDeep(stored);
  const delaySeconds = (timing.delayMs ?? 0) / 1000;
  const cause = captureCause();
  const rows = await sql<{ status: string }[]>`
    with busy as (
      select (not ${timing.applyNow}::boolean or ${delaySeconds}::float8 > 0
              or exists (select 1 from webhook_deliveries where lane = ${event.lane} and status = 'pending')) as busy)
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, status, processed_at, available_at, cause_delivery_id, traceparent)
    select ${event.deliveryId}, ${event.dedupeKey}, ${event.source}, ${event.eventName}, ${event.lane}, ${toJsonText(event.event)},
           case when busy then 'pending' else 'done' end, case when busy then null else now() end,
           now() + make_interval(secs => ${delaySeconds}::float8), ${cause.deliveryId}, ${cause.traceparent}
      from busy
    on conflict do nothing
    returning status`;
  const [row] = rows;
  if (!row) return "duplicate";
  return row.status === "done" ? "apply" : "queued";
}
