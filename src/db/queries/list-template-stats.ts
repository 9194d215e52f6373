import type { SqlClient } from "../client.js";

/** Outcomes of the agent jobs that used one prompt template (role × task type × overrides × content hash). */
export interface TemplateStats {
  role: string;
  taskType: string;
  /** The repository overrides among the rendered templates; empty: Foreman's built-ins only. */
  overrides: string[];
  sha256: string;
  /** Jobs that ended (succeeded or failed; cancelled jobs are left out). */
  jobs: number;
  succeeded: number;
  /** Jobs whose pushed commit got a CI result, and of those, the ones with no failing suite on it. */
  ciRuns: number;
  ciFirstPass: number;
  /** Jobs whose pushed commit was reviewed (a Foreman review role or a person), and of those, the ones where changes were requested. */
  reviewed: number;
  changesRequested: number;
  costUsd: number;
  tokens: number;
}

/** Which jobs to count: those that ended in `[since, until)`, of one repository (by id or `owner/name`) or all. */
export interface TemplateStatsFilter {
  since: Date;
  until: Date;
  repoId?: number | null;
  repoFullName?: string | null;
}

// The conclusions that make a suite on a commit "not green the first time".
const RED = ["failure", "timed_out", "startup_failure", "action_required"];

/**
 * Per prompt template, the outcomes of the jobs that used it: success rate, CI first pass of the
 * commit they pushed, changes requested on it, and cost. One query; templates ordered by use.
 */
export async function listTemplateStats(sql: SqlClient, filter: TemplateStatsFilter): Promise<TemplateStats[]> {
  const repoId = filter.repoId ?? null;
  const repoFullName = filter.repoFullName?.toLowerCase() ?? null;
  const rows = await sql<Array<Omit<TemplateStats, "overrides"> & { overrides: string[] | null }>>`
    with jobs as (
      select j.id, j.task_id, j.status, j.pushed_sha, j.prompt_template as template, j.prompt_template_sha256 as sha256,
             coalesce((j.usage->>'costUsd')::float8, 0) as cost, coalesce((j.usage->>'tokens')::bigint, 0) as tokens
        from agent_jobs j join tasks t on t.id = j.task_id
       where j.prompt_template_sha256 is not null and j.status in ('succeeded', 'failed')
         and j.finished_at >= ${filter.since.toISOString()} and j.finished_at < ${filter.until.toISOString()}
         and (${repoId}::bigint is null or t.repo_id = ${repoId}::bigint)
         and (${repoFullName}::text is null or lower(t.repo_owner || '/' || t.repo_name) = ${repoFullName}::text)
    ),
    ci as (
      select jobs.id, bool_or(c.conclusion = any(${RED})) as red
        from jobs join ci_results c on c.task_id = jobs.task_id and c.head_sha = jobs.pushed_sha
       group by jobs.id
    ),
    reviews as (
      select jobs.id, bool_or(review.changes) as changes
        from jobs
        join lateral (
          select r.result->>'status' = 'needs_changes' as changes
            from agent_jobs r
           where r.task_id = jobs.task_id and r.base_sha = jobs.pushed_sha and r.status = 'succeeded'
             and r.role in ('reviewer', 'security')
          union all
          select cr.payload->>'state' = 'changes_requested'
            from compliance_records cr
           where cr.task_id = jobs.task_id and cr.kind = 'review.submitted' and cr.payload->>'commitId' = jobs.pushed_sha
             and cr.payload->>'state' in ('approved', 'changes_requested')
        ) review on true
       group by jobs.id
    )
    select jobs.template->>'role' as role, jobs.template->>'taskType' as "taskType",
           jobs.template->'overrides' as overrides,
           jobs.sha256,
           count(*)::int as jobs,
           count(*) filter (where jobs.status = 'succeeded')::int as succeeded,
           count(ci.id)::int as "ciRuns",
           count(ci.id) filter (where not ci.red)::int as "ciFirstPass",
           count(reviews.id)::int as reviewed,
           count(reviews.id) filter (where reviews.changes)::int as "changesRequested",
           coalesce(sum(jobs.cost), 0)::float8 as "costUsd",
           coalesce(sum(jobs.tokens), 0)::float8 as tokens
      from jobs left join ci on ci.id = jobs.id left join reviews on reviews.id = jobs.id
     group by jobs.template->>'role', jobs.template->>'taskType', jobs.template->'overrides', jobs.sha256
     order by count(*) desc, 1, 2, 4`;
  return rows.map((row) => ({ ...row, overrides: row.overrides ?? [], tokens: Number(row.tokens) }));
}
