import { sql } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { webhookDeliveries } from "../schema.js";

/** An event to store in the inbox. */
export interface NewInboxEvent {
  deliveryId: string;
  dedupeKey: string;
  source: "github" | "effect" | "operator";
  eventName: string;
  lane: string;
  event: unknown;
}

/** The channel workers LISTEN on, so another replica wakes up when work arrives. */
export const WORK_CHANNEL = "foreman_work";

/**
 * Store an event unless the same delivery or the same meaning is already stored.
 * Returns whether it was new. Also notifies listening workers (delivered at commit).
 */
export async function insertInboxEvent(db: DbOrTx, event: NewInboxEvent): Promise<boolean> {
  const inserted = await db
    .insert(webhookDeliveries)
    .values({ ...event, status: "pending" })
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id });
  if (inserted.length > 0) await db.execute(sql`select pg_notify(${WORK_CHANNEL}, 'inbox')`);
  return inserted.length > 0;
}
