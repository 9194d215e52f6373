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

/** The channel workers LISTEN on (a trigger notifies it on every insert), so another replica wakes up when work arrives. */
export const WORK_CHANNEL = "foreman_work";

/**
 * Store an event unless the same delivery or the same meaning is already stored.
 * Returns whether it was new.
 */
export async function insertInboxEvent(db: DbOrTx, event: NewInboxEvent): Promise<boolean> {
  const inserted = await db
    .insert(webhookDeliveries)
    .values({ ...event, status: "pending" })
    .onConflictDoNothing()
    .returning({ id: webhookDeliveries.id });
  return inserted.length > 0;
}

/**
 * Store an effect's result event. When nothing older is pending in its lane it is stored as done,
 * for the caller to apply in the same transaction (one transaction instead of two); otherwise it
 * waits its turn. Returns "apply", "queued", or "duplicate" (the effect's result was stored before).
 */
export async function insertResultEvent(tx: DbOrTx, event: NewInboxEvent): Promise<"apply" | "queued" | "duplicate"> {
  const busyLane = sql`exists (select 1 from webhook_deliveries w where w.lane = ${event.lane} and w.status = 'pending')`;
  const inserted = await tx
    .insert(webhookDeliveries)
    .values({
      ...event,
      status: sql`case when ${busyLane} then 'pending' else 'done' end`,
      processedAt: sql`case when ${busyLane} then null else now() end`,
    })
    .onConflictDoNothing()
    .returning({ status: webhookDeliveries.status });
  const [row] = inserted;
  if (!row) return "duplicate";
  return row.status === "done" ? "apply" : "queued";
}
