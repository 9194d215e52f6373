import type { SqlClient } from "../client.js";

/** A merged task and which of the expected records it has. */
export interface MergedTaskCoverage {
  taskId: string;
  repository: string;
  issueNumber: number;
  hasMergeTransition: boolean;
  hasOpenDraftPr: boolean;
  hasRecordMerge: boolean;
}

/** Merged tasks after `afterId` (by id), at most `limit`, each with whether its expected records exist. */
export async function listMergedTaskCoverage(
  sql: SqlClient,
  afterId: string,
  limit: number,
): Promise<MergedTaskCoverage[]> {
  const rows = await sql<
    Array<{
      taskId: string;
      repository: string;
      issueNumber: number;
      hasMergeTransition: boolean;
      hasOpenDraftPr: boolean;
      hasRecordMerge: boolean;
    }>
  >`
    select t.id as "taskId", t.repo_owner || '/' || t.repo_name as repository, t.issue_number as "issueNumber",
      exists (select 1 from compliance_records r where r.task_id = t.id and r.kind = 'task.transition' and r.payload->>'to' = 'merged') as "hasMergeTransition",
      exists (select 1 from compliance_records r where r.task_id = t.id and r.kind = 'effect.open_draft_pr') as "hasOpenDraftPr",
      exists (select 1 from compliance_records r where r.task_id = t.id and r.kind = 'effect.record_merge') as "hasRecordMerge"
    from tasks t
    where t.state = 'merged' and t.id > ${afterId}::uuid
    order by t.id limit ${limit}`;
  return rows.map((row) => ({ ...row }));
}
