import type { SqlClient } from "../client.js";
import { sanitizeText } from "../sanitize-text.js";

/** Put a job back in the queue for another attempt after `delayMs` (an infrastructure failure, a moved branch). */
export async function requeueAgentJob(
  sql: SqlClient,
  job: { id: string; baseSha: string; delayMs: number; reason: string },
): Promise<void> {
  await sql`
    update agent_jobs
       set status = 'queued', attempt = attempt + 1, base_sha = ${job.baseSha}, lease_until = null, replica = null,
           failure_message = ${sanitizeText(job.reason)}, available_at = now() + make_interval(secs => ${job.delayMs / 1000})
     where id = ${job.id}`;
}
