import type { SqlClient } from "../client.js";

/** Outcome counts of the tasks of one repository and task type, from the compliance trail. */
export interface TaskOutcomeCounts {
  repository: string;
  type: string;
  /** Tasks whose first CI verdict (`effect.collect_ci_result` with success or failure) was success. */
  ciFirstPass: number;
  /** Tasks with a first CI verdict at all. */
  ciFirstVerdicts: number;
  /** Merged tasks. */
  merged: number;
  /** Merged tasks with no `branch.pushed_by_human` record: no human commit on the PR. */
  mergedWithoutHumanCommit: number;
  /** Merged tasks with the evidence a merge needs (as `foreman verify --coverage`): draft PR, merge transition, record_merge. */
  mergedTraceable: number;
  /** Times a task went to `escalated`. */
  escalations: number;
}

/** Count each repository's and task type's CI first passes, merges (automated, traceable) and escalations. */
export async function countTaskOutcomes(sql: SqlClient): Promise<TaskOutcomeCounts[]> {
  const rows = await sql<Array<Record<string, string>>>`
    select t.repo_owner || '/' || t.repo_name as repository, t.type,
      count(*) filter (where first_ci.verdict = 'success') as "ciFirstPass",
      count(*) filter (where first_ci.verdict is not null) as "ciFirstVerdicts",
      count(*) filter (where t.state = 'merged') as merged,
      count(*) filter (where t.state = 'merged' and not facts.human_push) as "mergedWithoutHumanCommit",
      count(*) filter (where t.state = 'merged' and facts.draft and facts.merge_transition and facts.record_merge) as "mergedTraceable",
      coalesce(sum(facts.escalations), 0) as escalations
    from tasks t
    left join lateral (
      select r.payload->>'verdict' as verdict from compliance_records r
      where r.task_id = t.id and r.kind = 'effect.collect_ci_result' and r.payload->>'verdict' in ('success', 'failure')
      order by r.seq limit 1
    ) first_ci on true
    cross join lateral (
      select
        coalesce(bool_or(r.kind = 'branch.pushed_by_human'), false) as human_push,
        coalesce(bool_or(r.kind = 'effect.open_draft_pr'), false) as draft,
        coalesce(bool_or(r.kind = 'task.transition' and r.payload->>'to' = 'merged'), false) as merge_transition,
        coalesce(bool_or(r.kind = 'effect.record_merge'), false) as record_merge,
        count(*) filter (where r.kind = 'task.transition' and r.payload->>'to' = 'escalated'
          and r.payload->>'from' is distinct from 'escalated') as escalations
      from compliance_records r where r.task_id = t.id
    ) facts
    group by 1, 2
    order by 1, 2`;
  return rows.map((row) => ({
    repository: row.repository!,
    type: row.type!,
    ciFirstPass: Number(row.ciFirstPass),
    ciFirstVerdicts: Number(row.ciFirstVerdicts),
    merged: Number(row.merged),
    mergedWithoutHumanCommit: Number(row.mergedWithoutHumanCommit),
    mergedTraceable: Number(row.mergedTraceable),
    escalations: Number(row.escalations),
  }));
}
