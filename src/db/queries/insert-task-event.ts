import { toJsonText, type SqlClient } from "../client.js";
import type { NewInboxEvent } from "./insert-inbox-event.js";

/**
 * Store an event produced inside Foreman (an agent job's start or end). When nothing older is
 * pending in its lane it is stored as done, for the caller to apply in the same transaction;
 * otherwise it waits its turn. "duplicate": an event with this delivery id was stored before.
 */
export async function insertTaskEvent(sql: SqlClient, event: NewInboxEvent): Promise<"apply" | "queued" | "duplicate"> {
  const rows = await sql<{ status: string }[]>`
    with busy as (select exists (select 1 from webhook_deliveries where lane = ${event.lane} and status = 'pending') as busy)
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, status, processed_at)
    select ${event.deliveryId}, ${event.dedupeKey}, ${event.source}, ${event.eventName}, ${event.lane}, ${toJsonText(event.event)},
           case when busy then 'pending' else 'done' end, case when busy then null else now() end
      from busy
    on conflict do nothing
    returning status`;
  const [row] = rows;
  if (!row) return "duplicate";
  return row.status === "done" ? "apply" : "queued";
}
