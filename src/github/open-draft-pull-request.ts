import type { GitHubClient } from "./octokit.js";

/** The draft PR of a task. */
export interface PullRequestOutcome {
  number: number;
  url: string;
  reused: boolean;
}

/** Parameters for openDraftPullRequest. */
export interface OpenDraftPullRequestParams {
  owner: string;
  repo: string;
  branch: string;
  baseBranch: string;
  title: string;
  body: string;
  /** True on a retry: look for an open PR from the branch first. */
  lookFirst: boolean;
}

/** Open the task's draft PR, or adopt the open PR its branch already has (GitHub allows one). */
export async function openDraftPullRequest(
  octokit: GitHubClient,
  params: OpenDraftPullRequestParams,
): Promise<PullRequestOutcome> {
  const { owner, repo, branch } = params;
  if (params.lookFirst) {
    const existing = await findOpenPullRequest(octokit, { owner, repo, branch });
    if (existing) return existing;
  }
  try {
    const { data } = await octokit.rest.pulls.create({
      owner,
      repo,
      head: branch,
      base: params.baseBranch,
      title: params.title,
      body: params.body,
      draft: true,
      maintainer_can_modify: true,
    });
    return { number: data.number, url: data.html_url, reused: false };
  } catch (error) {
    if ((error as { status?: number }).status !== 422) throw error;
    const existing = await findOpenPullRequest(octokit, { owner, repo, branch });
    if (!existing) throw error;
    return existing;
  }
}

async function findOpenPullRequest(
  octokit: GitHubClient,
  params: { owner: string; repo: string; branch: string },
): Promise<PullRequestOutcome | null> {
  const { data } = await octokit.rest.pulls.list({
    owner: params.owner,
    repo: params.repo,
    head: `${params.owner}:${params.branch}`,
    state: "open",
    per_page: 1,
  });
  const [pr] = data;
  return pr ? { number: pr.number, url: pr.html_url, reused: true } : null;
}
