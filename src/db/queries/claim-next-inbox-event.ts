import { sql } from "drizzle-orm";
import type { DbOrTx } from "../client.js";

/** A claimed inbox row. */
export interface ClaimedInboxEvent {
  id: number;
  deliveryId: string;
  source: string;
  eventName: string;
  lane: string;
  event: unknown;
  attempts: number;
}

/**
 * Lock the oldest pending event whose lane has nothing older pending, skipping rows another
 * worker holds: events of one issue run in order, different issues run concurrently.
 * Must run inside the transaction that processes the event.
 */
export async function claimNextInboxEvent(tx: DbOrTx): Promise<ClaimedInboxEvent | null> {
  const rows = await tx.execute(sql`
    select d.id, d.delivery_id, d.source, d.event_name, d.lane, d.event, d.attempts
      from webhook_deliveries d
     where d.status = 'pending'
       and d.available_at <= now()
       and not exists (
             select 1 from webhook_deliveries e
              where e.lane = d.lane and e.status = 'pending' and e.id < d.id)
     order by d.id
     limit 1
       for update skip locked`);
  const row = rows[0] as Record<string, unknown> | undefined;
  if (!row) return null;
  return {
    id: Number(row.id),
    deliveryId: String(row.delivery_id),
    source: String(row.source),
    eventName: String(row.event_name),
    lane: String(row.lane),
    event: row.event,
    attempts: Number(row.attempts),
  };
}
