import { TERMINAL_STATES, TaskState } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";

/** What happened in one repository in `[since, until)`: the numbers of its daily summary. */
export interface RepoActivity {
  /** Tasks created in the period. */
  started: number;
  /** Tasks that reached a final state in the period, in total and by that state. */
  finished: number;
  finishedByState: Record<string, number>;
  /** Times a task was escalated (Foreman gave up and asked for a human). */
  escalated: number;
  /** PRs merged in the period, and of those, the ones whose task never saw a failing CI suite. */
  merged: number;
  mergedCiFirstPass: number;
  /** Draft PRs opened in the period, and the time from the task's start to its PR (null without one). */
  prsOpened: number;
  timeToPrMedianMs: number | null;
  timeToPrMaxMs: number | null;
  /** Agent jobs that ended in the period, and what they spent (from `agent_jobs.usage`). */
  jobs: number;
  costUsd: number;
  tokens: number;
  agentMs: number;
}

const RED = ["failure", "timed_out", "startup_failure", "action_required"];

/** Count one repository's tasks, merges, PRs, escalations and agent spend in a period, in one query. */
export async function findRepoActivity(
  sql: SqlClient,
  repoId: number,
  since: Date,
  until: Date,
): Promise<RepoActivity> {
  const from = since.toISOString();
  const to = until.toISOString();
  const terminal = TERMINAL_STATES as string[];
  const [row] = await sql<
    Array<Omit<RepoActivity, "finishedByState"> & { finishedByState: Record<string, number> | null }>
  >`
    with transitions as (
      select cr.task_id, cr.payload->>'from' as "from", cr.payload->>'to' as "to"
        from compliance_records cr join tasks t on t.id = cr.task_id
       where t.repo_id = ${repoId} and cr.kind = 'task.transition'
         and cr.created_at >= ${from} and cr.created_at < ${to}
         and cr.payload->>'to' is distinct from cr.payload->>'from'
    ),
    finished as (
      select "to" as state, count(*)::int as count from transitions
       where "to" = any(${terminal}) and ("from" is null or not ("from" = any(${terminal})))
       group by "to"
    ),
    merged as (
      select distinct task_id from transitions where "to" = ${TaskState.merged}
    ),
    prs as (
      select t.id, extract(epoch from (min(cr.created_at) - t.created_at)) * 1000 as ms
        from tasks t join compliance_records cr on cr.task_id = t.id and cr.kind = 'effect.open_draft_pr'
       where t.repo_id = ${repoId}
       group by t.id, t.created_at
      having min(cr.created_at) >= ${from} and min(cr.created_at) < ${to}
    ),
    jobs as (
      select coalesce((j.usage->>'costUsd')::float8, 0) as cost, coalesce((j.usage->>'tokens')::float8, 0) as tokens,
             coalesce((j.usage->>'durationMs')::float8, 0) as ms
        from agent_jobs j join tasks t on t.id = j.task_id
       where t.repo_id = ${repoId} and j.finished_at >= ${from} and j.finished_at < ${to}
    )
    select
      (select count(*)::int from tasks where repo_id = ${repoId} and created_at >= ${from} and created_at < ${to}) as started,
      (select coalesce(sum(count), 0)::int from finished) as finished,
      (select jsonb_object_agg(state, count) from finished) as "finishedByState",
      (select count(*)::int from transitions where "to" = ${TaskState.escalated}) as escalated,
      (select count(*)::int from merged) as merged,
      (select count(*)::int from merged m where not exists (
         select 1 from ci_results c where c.task_id = m.task_id and c.conclusion = any(${RED}))) as "mergedCiFirstPass",
      (select count(*)::int from prs) as "prsOpened",
      (select percentile_cont(0.5) within group (order by ms) from prs)::float8 as "timeToPrMedianMs",
      (select max(ms) from prs)::float8 as "timeToPrMaxMs",
      (select count(*)::int from jobs) as jobs,
      (select coalesce(sum(cost), 0) from jobs)::float8 as "costUsd",
      (select coalesce(sum(tokens), 0) from jobs)::float8 as tokens,
      (select coalesce(sum(ms), 0) from jobs)::float8 as "agentMs"`;
  return { ...row!, finishedByState: row!.finishedByState ?? {} };
}
