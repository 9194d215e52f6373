import { findBranchHead } from "./find-branch-head.js";
import type { GitHubClient } from "./octokit.js";

/** Where the task branch ended up: its head, the base it started from, and whether it already existed. */
export interface BranchOutcome {
  headSha: string;
  baseSha: string;
  reused: boolean;
}

/** Parameters for ensureBranch. */
export interface EnsureBranchParams {
  owner: string;
  repo: string;
  branch: string;
  baseBranch: string;
  planMessage: string;
  /** True on a retry: look for the branch first, so a crash between create and record costs no second commit. */
  lookFirst: boolean;
}

/**
 * Make sure the task branch exists, starting with one empty "plan" commit on the base branch's
 * head (the parent's tree, no custom author, so GitHub signs it and shows it verified). A branch
 * that already exists (an earlier attempt) is reused as it is; it is never reset or force-pushed.
 */
export async function ensureBranch(octokit: GitHubClient, params: EnsureBranchParams): Promise<BranchOutcome> {
  const { owner, repo, branch } = params;
  if (params.lookFirst) {
    const existing = await findBranchHead(octokit, { owner, repo, branch });
    if (existing) return { headSha: existing, baseSha: existing, reused: true };
  }
  const { data: base } = await octokit.rest.repos.getBranch({ owner, repo, branch: params.baseBranch });
  const { data: commit } = await octokit.rest.git.createCommit({
    owner,
    repo,
    message: params.planMessage,
    tree: base.commit.commit.tree.sha,
    parents: [base.commit.sha],
  });
  try {
    await octokit.rest.git.createRef({ owner, repo, ref: `refs/heads/${branch}`, sha: commit.sha });
    return { headSha: commit.sha, baseSha: base.commit.sha, reused: false };
  } catch (error) {
    if ((error as { status?: number }).status !== 422) throw error;
    // The branch exists already (an earlier attempt of this task): adopt it, our new commit stays unreferenced.
    const existing = await findBranchHead(octokit, { owner, repo, branch });
    if (!existing) throw error;
    return { headSha: existing, baseSha: base.commit.sha, reused: true };
  }
}
