import type { SqlClient } from "../client.js";

/** One failed job, enough to link to: its log, its task and the task's issue and PR. */
export interface FailedJobExample {
  jobId: string;
  logToken: string;
  taskId: string;
  role: string;
  issueNumber: number;
  prUrl: string | null;
  message: string | null;
}

/** Failed agent jobs of one failure code in the period: how many, and the newest few. */
export interface FailureGroup {
  code: string;
  count: number;
  examples: FailedJobExample[];
}

/**
 * The repository's most frequent job failure codes among jobs that failed in `[since, until)`,
 * most frequent first (`limit` codes, `perCode` newest examples each).
 */
export async function listWorstFailures(
  sql: SqlClient,
  repoId: number,
  since: Date,
  until: Date,
  { limit = 5, perCode = 3 }: { limit?: number; perCode?: number } = {},
): Promise<FailureGroup[]> {
  const rows = await sql<Array<{ code: string; count: number; examples: FailedJobExample[] }>>`
    with failed as (
      select j.id, j.log_token, j.task_id, j.role, j.failure_code, j.failure_message, j.finished_at,
             t.issue_number, t.pr_url
        from agent_jobs j join tasks t on t.id = j.task_id
       where t.repo_id = ${repoId} and j.status = 'failed' and j.failure_code is not null
         and j.finished_at >= ${since.toISOString()} and j.finished_at < ${until.toISOString()}
    )
    select f.failure_code as code, count(*)::int as count,
           (select jsonb_agg(jsonb_build_object(
                     'jobId', e.id, 'logToken', e.log_token, 'taskId', e.task_id, 'role', e.role,
                     'issueNumber', e.issue_number, 'prUrl', e.pr_url, 'message', left(e.failure_message, 300))
                     order by e.finished_at desc, e.id)
              from (select * from failed x where x.failure_code = f.failure_code
                     order by x.finished_at desc, x.id limit ${perCode}) e) as examples
      from failed f
     group by f.failure_code
     order by count(*) desc, f.failure_code
     limit ${limit}`;
  return rows;
}
