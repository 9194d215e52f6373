import type { SqlClient } from "../client.js";

/** A job's stored execution log, the token its link carries and whether it has ended; null when there is no such job. */
export async function findAgentJobLog(
  sql: SqlClient,
  jobId: string,
): Promise<{ log: string | null; token: string; finished: boolean } | null> {
  // Only a real UUID reaches the database: anything else (36 dashes) would be a cast error, a 500.
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(jobId)) return null;
  const [row] = await sql<
    { log: string | null; log_token: string; finished: boolean }[]
  >`select log, log_token, finished_at is not null as finished from agent_jobs where id = ${jobId}`;
  return row ? { log: row.log, token: row.log_token, finished: row.finished } : null;
}
