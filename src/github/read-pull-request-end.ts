import { readConditionally, type EtagCache, type ReadBudget, type RequestClient } from "./conditional-read.js";

/** How a closed PR ended; null while it is open. */
export interface PullRequestEnd {
  merged: boolean;
  mergeCommitSha: string | null;
  closedAt: string;
  headRef: string;
  closedBy: string;
}

interface PullItem {
  state: string;
  merged?: boolean;
  merge_commit_sha?: string | null;
  closed_at?: string | null;
  updated_at: string;
  head: { ref: string };
  merged_by?: { login?: string } | null;
}

/** Whether a PR is closed, and how (`GET …/pulls/{n}`); null when it is open. */
export async function readPullRequestEnd(
  client: RequestClient,
  params: { owner: string; repo: string; prNumber: number },
  cache: EtagCache,
  budget: ReadBudget,
): Promise<PullRequestEnd | null> {
  const { data } = await readConditionally<PullItem>(
    client,
    "GET /repos/{owner}/{repo}/pulls/{pull_number}",
    { owner: params.owner, repo: params.repo, pull_number: params.prNumber },
    cache,
    budget,
  );
  if (data.state !== "closed") return null;
  const merged = data.merged === true;
  return {
    merged,
    mergeCommitSha: merged ? (data.merge_commit_sha ?? null) : null,
    closedAt: data.closed_at ?? data.updated_at,
    headRef: data.head.ref,
    closedBy: data.merged_by?.login ?? "ghost",
  };
}
