import type { SqlClient } from "../client.js";

/** The spans of a task's life the KPI histograms measure. */
export type TaskSpan = "label_to_draft_pr" | "label_to_ready" | "ready_to_first_human_review";

/** One histogram bucket of one span for one repository and task type: how many tasks fell in it and their seconds. */
export interface TaskSpanBucket {
  span: TaskSpan;
  repository: string;
  type: string;
  /** Index into the bounds passed in of the smallest bound at or above the span; null: above them all. */
  bucket: number | null;
  count: number;
  sumSeconds: number;
}

/**
 * Every task's spans, counted into buckets by repository and task type, measured from the compliance
 * trail: the label is the task's creation, the draft PR its first `effect.open_draft_pr`, ready its
 * first `effect.mark_ready_for_review`, the first human review the first `review.submitted` by a
 * non-bot at or after ready. `bounds` are ascending upper bounds in seconds.
 */
export async function summarizeTaskSpans(sql: SqlClient, bounds: readonly number[]): Promise<TaskSpanBucket[]> {
  const rows = await sql<
    Array<{ span: TaskSpan; repository: string; type: string; bucket: number | null; count: string; sum: number }>
  >`
    with task_times as (
      select t.id, t.repo_owner || '/' || t.repo_name as repository, t.type, t.created_at as labelled_at,
        (select min(r.created_at) from compliance_records r
          where r.task_id = t.id and r.kind = 'effect.open_draft_pr') as draft_at,
        (select min(r.created_at) from compliance_records r
          where r.task_id = t.id and r.kind = 'effect.mark_ready_for_review') as ready_at
      from tasks t
    ), spans as (
      select repository, type, 'label_to_draft_pr' as span, extract(epoch from draft_at - labelled_at)::float8 as seconds
        from task_times where draft_at is not null
      union all
      select repository, type, 'label_to_ready', extract(epoch from ready_at - labelled_at)::float8
        from task_times where ready_at is not null
      union all
      select tt.repository, tt.type, 'ready_to_first_human_review', extract(epoch from min(r.created_at) - tt.ready_at)::float8
        from task_times tt
        join compliance_records r on r.task_id = tt.id and r.kind = 'review.submitted'
          and r.payload->>'bot' = 'false' and r.created_at >= tt.ready_at
        group by tt.id, tt.repository, tt.type, tt.ready_at
    )
    select span, repository, type,
      (select min(b.i)::int - 1 from unnest(${sql.array([...bounds])}::float8[]) with ordinality as b(le, i)
        where greatest(seconds, 0) <= b.le) as bucket,
      count(*) as count, coalesce(sum(greatest(seconds, 0)), 0)::float8 as sum
    from spans
    group by 1, 2, 3, 4`;
  return rows.map((row) => ({
    span: row.span,
    repository: row.repository,
    type: row.type,
    bucket: row.bucket,
    count: Number(row.count),
    sumSeconds: Number(row.sum),
  }));
}
