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

/** Record a job's end (in the transaction that hands its result to the task); the agent's text sanitised for PostgreSQL. */
export async function finishAgentJob(sql: SqlClient, job: AgentJobRecord): Promise<void> {
  await sql`
    update agent_jobs
       set status = ${job.status}, finished_at = now(), lease_until = null, image = ${clean(job.image)}, exit_code = ${job.exitCode},
           failure_code = ${job.failureCode}, failure_message = ${clean(job.failureMessage)}, result = ${toJsonText(job.result)},
           usage = ${toJsonText(job.usage)}, prompt = ${clean(job.prompt)}, prompt_sha256 = ${job.promptSha256}, log = ${clean(job.log)},
           pushed_sha = ${job.pushedSha}
     where id = ${job.id}`;
}
