import type { CiFailure } from "../../workflow/task.js";
import { toJsonText, type SqlClient } from "../client.js";

/** A completed check suite as Foreman saw it. */
export interface NewCiResult {
  repoId: number;
  taskId: string | null;
  suiteId: number;
  headSha: string;
  headBranch: string | null;
  app: string;
  conclusion: string;
}

/** Store a completed suite once (a redelivery of the same suite and conclusion changes nothing). */
export async function insertCiResult(sql: SqlClient, result: NewCiResult): Promise<void> {
  await sql`
    insert into ci_results (repo_id, task_id, suite_id, head_sha, head_branch, app, conclusion)
    values (${result.repoId}, ${result.taskId}, ${result.suiteId}, ${result.headSha}, ${result.headBranch}, ${result.app}, ${result.conclusion})
    on conflict do nothing`;
}

/** Attach the failing checks Foreman read to the task's stored suites of that SHA. */
export async function saveCiFailures(
  sql: SqlClient,
  taskId: string,
  sha: string,
  failures: readonly CiFailure[],
): Promise<void> {
  await sql`update ci_results set failures = ${toJsonText(failures)} where task_id = ${taskId} and head_sha = ${sha}`;
}

/**
 * Remember the default branch's latest CI conclusion (red mode while it failed). Returns whether the
 * repo just turned green, so waiting tasks can start. The suite that completed last wins, whatever
 * its app (Foreman's own check runs' suites are left out by the caller).
 */
export async function saveDefaultBranchCi(
  sql: SqlClient,
  repo: { id: number; installationId: number; fullName: string },
  sha: string,
  conclusion: "success" | "failure",
): Promise<{ turnedGreen: boolean }> {
  const [row] = await sql<{ was: string | null }[]>`
    with before as (select default_branch_ci as was from repositories where id = ${repo.id})
    insert into repositories (id, installation_id, full_name, default_branch_ci, default_branch_ci_sha, default_branch_ci_at)
    values (${repo.id}, ${repo.installationId}, ${repo.fullName}, ${conclusion}, ${sha}, now())
    on conflict (id) do update set default_branch_ci = excluded.default_branch_ci, default_branch_ci_sha = excluded.default_branch_ci_sha,
                                   default_branch_ci_at = now(), updated_at = now()
    returning (select was from before) as was`;
  return { turnedGreen: conclusion === "success" && row?.was === "failure" };
}

/** Whether the repo is in red mode: the latest completed suite on its default branch failed. */
export async function isRepoRed(sql: SqlClient, repoId: number): Promise<boolean> {
  const [row] = await sql<
    { ci: string | null }[]
  >`select default_branch_ci as ci from repositories where id = ${repoId}`;
  return row?.ci === "failure";
}

/** Tasks of a repo waiting for green (red mode), with their lanes. */
export async function findWaitingTasks(
  sql: SqlClient,
  repoId: number,
): Promise<Array<{ id: string; issueNumber: number }>> {
  const rows = await sql<
    { id: string; issue_number: number }[]
  >`select id, issue_number from tasks where repo_id = ${repoId} and state = 'waiting' order by created_at`;
  return rows.map((row) => ({ id: String(row.id), issueNumber: Number(row.issue_number) }));
}

/** The trigger label of the issue's latest task whose label was a trigger (for `/foreman retry` after it ended). */
export async function findPreviousTriggerLabel(
  sql: SqlClient,
  repoId: number,
  issueNumber: number,
): Promise<string | null> {
  const [row] = await sql<{ label: string }[]>`
    select trigger_label as label from tasks
     where repo_id = ${repoId} and issue_number = ${issueNumber} and trigger_verdict in ('authorized', 'refused')
     order by created_at desc limit 1`;
  return row?.label ?? null;
}
