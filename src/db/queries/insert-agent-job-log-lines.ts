import type { SqlClient } from "../client.js";
import { sanitizeText } from "../sanitize-text.js";

/** Appends a batch of a running job's live log lines (JSONL lines without their newline), in order. */
export async function insertAgentJobLogLines(
  sql: SqlClient,
  jobId: string,
  attempt: number,
  entries: readonly string[],
): Promise<void> {
  if (entries.length === 0) return;
  // One statement; the rows take their sequence numbers in the batch's order.
  const rows = entries.map((entry) => ({ job_id: jobId, attempt, entry: sanitizeText(entry) }));
  await sql`insert into agent_job_log_lines ${sql(rows, "job_id", "attempt", "entry")}`;
}
