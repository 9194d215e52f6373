import type { SqlClient } from "../client.js";

/** A stored live log line of a running job: its sequence number and its JSONL line. */
export interface AgentJobLogLine {
  seq: number;
  attempt: number;
  entry: string;
}

/** A job's live log lines after `afterSeq`, oldest first, at most `limit` of them. */
export async function listAgentJobLogLines(
  sql: SqlClient,
  jobId: string,
  afterSeq: number,
  limit = 1000,
): Promise<AgentJobLogLine[]> {
  const rows = await sql<{ seq: string; attempt: number; entry: string }[]>`
    select seq, attempt, entry from agent_job_log_lines
     where job_id = ${jobId} and seq > ${afterSeq}
     order by seq limit ${limit}`;
  return rows.map((row) => ({ seq: Number(row.seq), attempt: row.attempt, entry: row.entry }));
}
