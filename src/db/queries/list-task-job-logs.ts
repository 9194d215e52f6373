import type { SqlClient } from "../client.js";

/** An agent job of a task as the dashboard's task page shows it: its state, and its log once stored. */
export interface TaskJobLog {
  id: string;
  role: string;
  profile: string;
  status: string;
  attempt: number;
  failureCode: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** The redacted execution log (JSONL), stored when the job ends; null before. */
  log: string | null;
  /** The job's result.json as Foreman read it (summary, plan body, review), once it ended. */
  result: Record<string, unknown> | null;
}

/** A task's agent jobs, oldest first, with their logs and results (no prompts, no log tokens). */
export async function listTaskJobLogs(sql: SqlClient, taskId: string): Promise<TaskJobLog[]> {
  return sql<TaskJobLog[]>`
    select id, role, profile, status, attempt, failure_code as "failureCode", started_at as "startedAt",
           finished_at as "finishedAt", log, result
      from agent_jobs where task_id = ${taskId} order by created_at, id`;
}
