import { toJsonText, type SqlClient } from "../client.js";

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

/** Store an event unless the same delivery or the same meaning is already stored. Returns whether it was new. */
export async function insertInboxEvent(sql: SqlClient, event: NewInboxEvent): Promise<boolean> {
  const rows = await sql`
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event)
    values (${event.deliveryId}, ${event.dedupeKey}, ${event.source}, ${event.eventName}, ${event.lane}, ${toJsonText(event.event)})
    on conflict do nothing
    returning id`;
  return rows.length > 0;
}

/**
 * Store an effect's result event. When nothing older is pending in its lane it is stored as done,
 * for the caller to apply in the same transaction (one transaction instead of two); otherwise it
 * waits its turn. Returns "apply", "queued", or "duplicate" (the effect's result was stored before).
 */
export async function insertResultEvent(sql: SqlClient, event: NewInboxEvent): Promise<"apply" | "queued" | "duplicate"> {
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
