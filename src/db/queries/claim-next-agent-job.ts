import { HELD_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";
import type { TaskRow } from "./task-row.js";

// Claims take turns on this lock so the global container limit holds across replicas.
const JOB_CLAIM_LOCK_KEY = 7_340_013;

/** A leased agent job with its task. */
export interface ClaimedAgentJob {
  id: string;
  role: string;
  profile: string;
  baseSha: string;
  attempt: number;
  logToken: string;
  task: TaskRow;
}

/**
 * Lease the oldest queued job of a task that is not held (frozen tasks wait), unless `maxRunning`
 * jobs already run with a live lease anywhere. Serialised by an advisory lock, so two replicas
 * cannot both take the last slot.
 */
export async function claimNextAgentJob(sql: SqlClient, replica: string, leaseMs: number, maxRunning: number): Promise<ClaimedAgentJob | null> {
  return (sql as import("postgres").Sql).begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${JOB_CLAIM_LOCK_KEY})`;
    const [counted] = await tx<{ running: number }[]>`
      select count(*)::int as running from agent_jobs where status = 'running' and lease_until > now()`;
    if ((counted?.running ?? 0) >= maxRunning) return null;
    const rows = await tx`
      update agent_jobs j
         set status = 'running', replica = ${replica}, started_at = coalesce(j.started_at, now()),
             lease_until = now() + make_interval(secs => ${leaseMs / 1000})
        from tasks t
       where j.id = (
               select q.id from agent_jobs q join tasks u on u.id = q.task_id
                where q.status = 'queued' and q.available_at <= now() and u.state <> all(${HELD_STATES as string[]})
                order by q.created_at
                limit 1
                  for update of q skip locked)
         and t.id = j.task_id
      returning j.id, j.role, j.profile, j.base_sha, j.attempt, j.log_token, to_jsonb(t) as task`;
    const row = rows[0];
    if (!row) return null;
    return {
      id: String(row.id),
      role: String(row.role),
      profile: String(row.profile),
      baseSha: String(row.base_sha),
      attempt: Number(row.attempt),
      logToken: String(row.log_token),
      task: row.task as TaskRow,
    };
  });
}
