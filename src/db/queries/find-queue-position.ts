import type { SqlClient } from "../client.js";
import { selectFairAgentJobQueue } from "./claim-next-agent-job.js";

/**
 * A queued job's 1-based place in the order the claim starts jobs (for "waiting: 3rd in the queue"),
 * or null when it is not waiting to be claimed: not queued, in a retry's backoff, or its task is held.
 * Jobs of a repository at its `MAX_JOBS_PER_REPO` limit keep their place and wait for a slot there.
 */
export async function findQueuePosition(sql: SqlClient, jobId: string): Promise<number | null> {
  const [row] = await sql<{ position: number }[]>`
    select f.position from (${selectFairAgentJobQueue(sql)}) f where f.id = ${jobId}::uuid`;
  return row ? Number(row.position) : null;
}
