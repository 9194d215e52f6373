/**
 * The lane of an issue in the inbox: events in one lane are processed in order, one at a time.
 * Every event about an issue and its task (webhooks, effect results, job ends) goes in this lane;
 * a task's effects wait while it holds a ready event (`claim-next-effect.ts`), so a task acts on
 * what it knows.
 */
export function buildIssueLane(repoId: number, issueNumber: number): string {
  return `repo:${repoId}#${issueNumber}`;
}

/** The same lane as SQL over a `tasks` row aliased `alias` (kept in step with `buildIssueLane`). */
export function buildIssueLaneSql(alias: string): string {
  if (!/^[a-z_]+$/.test(alias)) throw new Error(`not a table alias: ${alias}`);
  return `('repo:' || ${alias}.repo_id || '#' || ${alias}.issue_number)`;
}
