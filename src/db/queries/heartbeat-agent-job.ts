import type { SqlClient } from "../client.js";

/** Extend a running job's lease; returns whether someone asked it to stop (freeze, cancel). */
export async function heartbeatAgentJob(sql: SqlClient, jobId: string, leaseMs: number): Promise<{ cancelRequested: boolean }> {
  const [row] = await sql<{ cancel_requested: boolean }[]>`
    update agent_jobs set lease_until = now() + make_interval(secs => ${leaseMs / 1000})
     where id = ${jobId}
    returning cancel_requested`;
  return { cancelRequested: row?.cancel_requested ?? true };
}
