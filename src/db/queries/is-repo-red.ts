import { isGreenConclusion } from "../../workflow/ci-transitions.js";
import type { SqlClient } from "../client.js";

/**
 * Whether the repo is in red mode for a task whose CI is `apps` (`ci.apps`): the latest completed
 * suite of those apps on the repository's own default branch failed. Suites of other apps, and
 * suites on a fork's branch named like the default branch, do not count.
 */
export async function isRepoRed(sql: SqlClient, repoId: number, apps: readonly string[]): Promise<boolean> {
  if (apps.length === 0) return false;
  const [row] = await sql<{ conclusion: string }[]>`
    select conclusion from ci_results
    where repo_id = ${repoId} and on_default_branch and app in ${sql(apps as string[])}
    order by id desc limit 1`;
  return row !== undefined && !isGreenConclusion(row.conclusion);
}
