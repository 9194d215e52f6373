import type { SqlClient } from "../client.js";
import { sanitizeText } from "../sanitize-text.js";

/**
 * Put a job back in the queue for another attempt after `delayMs` (an infrastructure failure, a
 * moved branch). With `runningAttempt` (a lost job seen running by a replica that does not run it)
 * only while it is still running at that attempt: several replicas find the same dead replica's
 * job, and only the first may requeue it, not again once another replica has leased it anew.
 * Returns whether the job was requeued.
 */
export async function requeueAgentJob(
  sql: SqlClient,
  job: { id: string; baseSha: string; delayMs: number; reason: string; runningAttempt?: number },
): Promise<boolean> {
  const attempt = job.runningAttempt ?? null;
  const result = await sql`
    update agent_jobs
       set status = 'queued', attempt = attempt + 1, base_sha = ${job.baseSha}, lease_until = null, replica = null,
           failure_message = ${sanitizeText(job.reason)}, available_at = now() + make_interval(secs => ${job.delayMs / 1000})
     where id = ${job.id}
       and (${attempt}::int is null or (status = 'running' and attempt = ${attempt}::int))`;
  return result.count > 0;
}
