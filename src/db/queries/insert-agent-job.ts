import type { SqlClient } from "../client.js";

/** Queue an agent job for a task step (in the transition's transaction). The log link gets an unguessable token. */
export async function insertAgentJob(
  sql: SqlClient,
  job: { id: string; taskId: string; role: string; profile: string; baseSha: string },
): Promise<void> {
  await sql`
    insert into agent_jobs (id, task_id, role, profile, base_sha, log_token)
    values (${job.id}, ${job.taskId}, ${job.role}, ${job.profile}, ${job.baseSha}, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''))
    on conflict (id) do nothing`;
}
