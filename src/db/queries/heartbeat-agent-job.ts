import { HELD_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";

/**
 * Extend a running job's lease; returns whether it must stop: someone asked (a cancel), or its
 * task is now frozen or finished (a freeze that came before the task knew the job had started).
 */
export async function heartbeatAgentJob(
  sql: SqlClient,
  jobId: string,
  leaseMs: number,
): Promise<{ cancelRequested: boolean }> {
  const [row] = await sql<{ stop: boolean }[]>`
    update agent_jobs j set lease_until = now() + make_interval(secs => ${leaseMs / 1000})
      from tasks t
     where j.id = ${jobId} and t.id = j.task_id
    returning j.cancel_requested or t.state = any(${HELD_STATES as string[]}) as stop`;
  return { cancelRequested: row?.stop ?? true };
}
