import type { SqlClient } from "../client.js";

/**
 * Record the commit a job is about to push, before the branch moves to it: a `synchronize` naming
 * it is then Foreman's own push, even when it arrives before the job's end is stored.
 */
export async function recordJobPush(sql: SqlClient, jobId: string, commitSha: string): Promise<void> {
  await sql`update agent_jobs set pushed_sha = ${commitSha} where id = ${jobId}`;
}
