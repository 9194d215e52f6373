import type { GitHubClient } from "./octokit.js";
import type { CheckRunView } from "./render-check-run.js";

/** The name of Foreman's check run on a task's PR head. */
export const CHECK_RUN_NAME = "foreman";

/** Parameters for upsertCheckRun. */
export interface UpsertCheckRunParams {
  owner: string;
  repo: string;
  headSha: string;
  /** Set on a new run so the run names its task (the task id). */
  externalId: string;
  view: CheckRunView;
  /** The run last stored for the task, and the SHA it is on. */
  known: { id: number; sha: string } | null;
  /** True on a retry: look for a `foreman` run on the SHA before creating one. */
  lookFirst: boolean;
}

type CheckRun = { id: number; status: string; conclusion: string | null };

/**
 * Create or update the `foreman` check run on the head SHA. GitHub never reopens a completed run
 * nor changes its conclusion, so when an update does not take (a retried task going back to work,
 * an escalation that ends in a merge) a new run replaces it on the same SHA.
 */
export async function upsertCheckRun(
  octokit: GitHubClient,
  params: UpsertCheckRunParams,
): Promise<{ id: number; created: boolean; superseded: number | null }> {
  const { owner, repo, headSha, view } = params;
  if (params.known?.sha === headSha && (await tryUpdateCheckRun(octokit, { owner, repo, id: params.known.id, view }))) {
    return { id: params.known.id, created: false, superseded: null };
  }
  if (params.lookFirst) {
    const existing = await findUpdatableCheckRun(octokit, {
      owner,
      repo,
      headSha,
      view,
      skipId: params.known?.id ?? null,
    });
    if (existing && (await tryUpdateCheckRun(octokit, { owner, repo, id: existing.id, view })))
      return { id: existing.id, created: false, superseded: null };
  }
  const { data } = await octokit.rest.checks.create({
    owner,
    repo,
    name: CHECK_RUN_NAME,
    head_sha: headSha,
    external_id: params.externalId,
    ...toFields(view),
  });
  // The head moved (a fix was pushed): the run on the earlier commit must not spin forever.
  const superseded =
    params.known && params.known.sha !== headSha
      ? await closeSupersededRun(octokit, { owner, repo, id: params.known.id, headSha })
      : null;
  return { id: data.id, created: true, superseded };
}

/**
 * Complete the run left on an earlier head as neutral, pointing at the new head. A run that is
 * already completed (GitHub answers 422 or keeps its conclusion) is left as it is: done either way.
 */
async function closeSupersededRun(
  octokit: GitHubClient,
  params: { owner: string; repo: string; id: number; headSha: string },
): Promise<number | null> {
  const applied = await tryUpdateCheckRun(octokit, {
    owner: params.owner,
    repo: params.repo,
    id: params.id,
    view: {
      status: "completed",
      conclusion: "neutral",
      detailsUrl: null,
      title: `Superseded by ${params.headSha.slice(0, 7)}`,
      summary: `The task moved on to ${params.headSha}; its \`foreman\` check run is on that commit.`,
    },
  });
  return applied ? params.id : null;
}

// Whether GitHub applied the status and conclusion (it ignores or refuses them on a completed run).
async function tryUpdateCheckRun(
  octokit: GitHubClient,
  params: { owner: string; repo: string; id: number; view: CheckRunView },
): Promise<boolean> {
  try {
    const { data } = await octokit.rest.checks.update({
      owner: params.owner,
      repo: params.repo,
      check_run_id: params.id,
      ...toFields(params.view),
    });
    return isApplied(data, params.view);
  } catch (error) {
    if ((error as { status?: number }).status === 422) return false;
    throw error;
  }
}

// A run this view can be written to: one still open, or one completed with the same conclusion.
async function findUpdatableCheckRun(
  octokit: GitHubClient,
  params: { owner: string; repo: string; headSha: string; view: CheckRunView; skipId: number | null },
): Promise<CheckRun | null> {
  const { data } = await octokit.rest.checks.listForRef({
    owner: params.owner,
    repo: params.repo,
    ref: params.headSha,
    check_name: CHECK_RUN_NAME,
    per_page: 100,
  });
  const usable = data.check_runs.filter(
    (run) =>
      run.id !== params.skipId &&
      (run.status !== "completed" || (params.view.conclusion !== null && run.conclusion === params.view.conclusion)),
  );
  return usable.reduce<CheckRun | null>((newest, run) => (newest === null || run.id > newest.id ? run : newest), null);
}

function isApplied(run: CheckRun, view: CheckRunView): boolean {
  return run.status === view.status && (view.conclusion === null || run.conclusion === view.conclusion);
}

function toFields(view: CheckRunView) {
  return {
    status: view.status,
    ...(view.conclusion ? { conclusion: view.conclusion } : {}),
    ...(view.detailsUrl ? { details_url: view.detailsUrl } : {}),
    output: { title: view.title, summary: view.summary },
  };
}
