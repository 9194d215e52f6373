import type { SqlClient } from "../client.js";

/** How an attempt ended: delivered, try again at `nextAt`, failed for good, or skipped (nowhere to send it). */
export type OutboundHookOutcome =
  | { status: "delivered"; at: string }
  | { status: "pending"; nextAt: string; error: string }
  | { status: "failed" | "skipped"; error: string };

/** Record the outcome of a delivery attempt and end its lease (`locked_by`). */
export async function finishOutboundHook(sql: SqlClient, id: number, outcome: OutboundHookOutcome): Promise<void> {
  const deliveredAt = outcome.status === "delivered" ? outcome.at : null;
  const nextAt = outcome.status === "pending" ? outcome.nextAt : null;
  const error = outcome.status === "delivered" ? null : outcome.error;
  await sql`
    update outbound_hooks set
      status = ${outcome.status},
      locked_by = null,
      delivered_at = ${deliveredAt},
      next_at = coalesce(${nextAt}::timestamptz, next_at),
      last_error = ${error}
    where id = ${id}`;
}
