import { toJsonText, type SqlClient } from "../client.js";
import { sanitizeNullableText as clean } from "../sanitize-text.js";

/** How a job ended, as stored for the audit trail and the log link. */
export interface AgentJobRecord {
  id: string;
  status: "succeeded" | "failed" | "cancelled";
  image: string | null;
  exitCode: number | null;
  failureCode: string | null;
  failureMessage: string | null;
  result: unknown;
  usage: unknown;
  prompt: string | null;
  promptSha256: string | null;
  log: string | null;
  pushedSha: string | null;
}

/**
 * Record a job's end (in the transaction that hands its result to the task); the agent's text
 * sanitised for PostgreSQL. With `runningAttempt`, only while the job still runs at that attempt
 * (a lost job failed by a replica that does not run it; see `requeueAgentJob`). Returns whether it
 * was recorded.
 */
export async function finishAgentJob(
  sql: SqlClient,
  job: AgentJobRecord,
  runningAttempt: number | null = null,
): Promise<boolean> {
  const result = await sql`
    update agent_jobs
       set status = ${job.status}, finished_at = now(), lease_until = null, image = ${clean(job.image)}, exit_code = ${job.exitCode},
           failure_code = ${job.failureCode}, failure_message = ${clean(job.failureMessage)}, result = ${toJsonText(job.result)},
           usage = ${toJsonText(job.usage)}, prompt = ${clean(job.prompt)}, prompt_sha256 = ${job.promptSha256}, log = ${clean(job.log)},
           pushed_sha = ${job.pushedSha}
     where id = ${job.id}
       and (${runningAttempt}::int is null or (status = 'running' and attempt = ${runningAttempt}::int))`;
  return result.count > 0;
}
