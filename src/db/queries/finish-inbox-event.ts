import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { webhookDeliveries } from "../schema.js";

/** Record a failed processing attempt: retry after `delayMs`, or give up (which unblocks the lane). */
export async function recordInboxEventFailure(db: DbOrTx, id: number, error: string, retryInMs: number | null): Promise<void> {
  await db
    .update(webhookDeliveries)
    .set({
      attempts: sql`${webhookDeliveries.attempts} + 1`,
      lastError: error.slice(0, 2000),
      status: retryInMs === null ? "failed" : "pending",
      availableAt: sql`now() + make_interval(secs => ${(retryInMs ?? 0) / 1000})`,
      processedAt: retryInMs === null ? sql`now()` : null,
    })
    .where(eq(webhookDeliveries.id, id));
}
