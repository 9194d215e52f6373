import type { GitHubClient } from "./octokit.js";

// REST cannot take a PR out of draft; only this GraphQL mutation can.
const MARK_READY = `mutation ($pullRequestId: ID!) {
  markPullRequestReadyForReview(input: { pullRequestId: $pullRequestId }) {
    pullRequest { isDraft }
  }
}`;

/** Take a draft PR out of draft. A PR that is already ready is left alone, so this is idempotent. */
export async function markReadyForReview(
  octokit: GitHubClient,
  params: { owner: string; repo: string; prNumber: number },
): Promise<{ alreadyReady: boolean }> {
  const { data } = await octokit.rest.pulls.get({
    owner: params.owner,
    repo: params.repo,
    pull_number: params.prNumber,
  });
  if (!data.draft) return { alreadyReady: true };
  await octokit.graphql(MARK_READY, { pullRequestId: data.node_id });
  return { alreadyReady: false };
}
