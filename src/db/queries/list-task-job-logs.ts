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
  /** Until the log is stored: the live lines stored so far (JSONL), else null. */
  liveLog: string | null;
  /** How many live lines `liveLog` holds (0 once the log is stored). */
  liveLines: number;
  /** The job's result.json as Foreman read it (summary, plan body, review), once it ended. */
  result: Record<string, unknown> | null;
}

/** A task's agent jobs, oldest first, with their logs (or live lines until then) and results (no prompts, no log tokens). */
export async function listTaskJobLogs(sql: SqlClient, taskId: string): Promise<TaskJobLog[]> {
  return sql<TaskJobLog[]>`
    select j.id, j.role, j.profile, j.status, j.attempt, j.failure_code as "failureCode",
           j.started_at as "startedAt", j.finished_at as "finishedAt", j.log, j.result,
           live.log as "liveLog", coalesce(live.lines, 0)::int as "liveLines"
      from agent_jobs j
      left join lateral (
        select string_agg(l.entry || chr(10), '' order by l.seq) as log, count(*) as lines
          from agent_job_log_lines l where l.job_id = j.id and j.log is null
      ) live on true
     where j.task_id = ${taskId} order by j.created_at, j.id`;
}
