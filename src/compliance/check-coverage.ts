import type { SqlClient } from "../db/client.js";
import { listMergedTaskCoverage } from "../db/queries/list-merged-task-coverage.js";

/** A merged task whose evidence lacks an expected record kind. */
export interface CoverageGap {
  taskId: string;
  repository: string;
  issueNumber: number;
  missing: string[];
}

/** How many merged tasks carry the evidence a merge needs, and which do not. */
export interface CoverageReport {
  merged: number;
  covered: number;
  /** 100 when there are no merged tasks. */
  percent: number;
  gaps: CoverageGap[];
}

/** The records every merged task must have: how it got a draft PR, the merge itself, and the merge's approvals and commit. */
export const EXPECTED_MERGED_EVIDENCE = Object.freeze([
  "effect.open_draft_pr",
  "task.transition to merged",
  "effect.record_merge",
] as const);

const FIRST_ID = "00000000-0000-0000-0000-000000000000";

/** Check every merged task (in pages) for the expected records; list up to `maxGaps` tasks lacking them. */
export async function checkCoverage(
  sql: SqlClient,
  options: { pageSize?: number; maxGaps?: number } = {},
): Promise<CoverageReport> {
  const pageSize = options.pageSize ?? 1000;
  const report: CoverageReport = { merged: 0, covered: 0, percent: 100, gaps: [] };
  let afterId = FIRST_ID;
  for (;;) {
    const page = await listMergedTaskCoverage(sql, afterId, pageSize);
    for (const task of page) {
      report.merged += 1;
      const missing = [
        ...(task.hasOpenDraftPr ? [] : [EXPECTED_MERGED_EVIDENCE[0]]),
        ...(task.hasMergeTransition ? [] : [EXPECTED_MERGED_EVIDENCE[1]]),
        ...(task.hasRecordMerge ? [] : [EXPECTED_MERGED_EVIDENCE[2]]),
      ];
      if (missing.length === 0) report.covered += 1;
      else if (report.gaps.length < (options.maxGaps ?? 100))
        report.gaps.push({ taskId: task.taskId, repository: task.repository, issueNumber: task.issueNumber, missing });
    }
    if (page.length < pageSize) break;
    afterId = page.at(-1)!.taskId;
  }
  report.percent = report.merged === 0 ? 100 : Math.floor((report.covered / report.merged) * 10_000) / 100;
  return report;
}
