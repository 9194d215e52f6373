import type { SqlClient } from "../client.js";

/** Record a failed processing attempt: retry after `retryInMs`, or give up (null), which unblocks the lane. */
export async function recordInboxEventFailure(
  sql: SqlClient,
  id: number,
  error: string,
  retryInMs: number | null,
): Promise<void> {
  await sql`
    update webhook_deliveries
       set attempts = attempts + 1,
           last_error = ${error.slice(0, 2000)},
           status = ${retryInMs === null ? "failed" : "pending"},
           available_at = now() + make_interval(secs => ${(retryInMs ?? 0) / 1000}),
           processed_at = case when ${retryInMs === null} then now() end
     where id = ${id}`;
}
