import type { SqlClient } from "../client.js";
import { sanitizeDeep } from "../sanitize-text.js";

/** A completed check suite as Foreman saw it. */
export interface NewCiResult {
  repoId: number;
  taskId: string | null;
  suiteId: number;
  headSha: string;
  headBranch: string | null;
  app: string;
  conclusion: string;
  /** The suite ran on the repository's own default branch (red mode counts it). */
  onDefaultBranch: boolean;
}

/** Store a completed suite once (a redelivery of the same suite and conclusion changes nothing). */
export async function insertCiResult(sql: SqlClient, suite: NewCiResult): Promise<void> {
  const result = sanitizeDeep(suite);
  await sql`
    insert into ci_results (repo_id, task_id, suite_id, head_sha, head_branch, app, conclusion, on_default_branch)
    values (${result.repoId}, ${result.taskId}, ${result.suiteId}, ${result.headSha}, ${result.headBranch}, ${result.app}, ${result.conclusion}, ${result.onDefaultBranch})
    on conflict do nothing`;
}
