import type { SqlClient } from "../client.js";
import { captureCause } from "../../telemetry/tracing.js";

/** Queue an agent job for a task step (in the transition's transaction). The log link gets an unguessable token; the row keeps the current work's cause (delivery, span). */
export async function insertAgentJob(
  sql: SqlClient,
  job: { id: string; taskId: string; role: string; profile: string; baseSha: string },
): Promise<void> {
  const cause = captureCause();
  await sql`
    insert into agent_jobs (id, task_id, role, profile, base_sha, log_token, cause_delivery_id, traceparent)
    values (${job.id}, ${job.taskId}, ${job.role}, ${job.profile}, ${job.baseSha}, replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), ${cause.deliveryId}, ${cause.traceparent})
    on conflict (id) do nothing`;
}
