import type { SqlClient } from "../client.js";

/** Withdraw a queued job, or ask the runner of a running one to stop its container. */
export async function cancelAgentJob(sql: SqlClient, jobId: string): Promise<void> {
  await sql`
    update agent_jobs
       set cancel_requested = true,
           status = case when status = 'queued' then 'cancelled' else status end,
           finished_at = case when status = 'queued' then now() else finished_at end
     where id = ${jobId} and status in ('queued', 'running')`;
}
