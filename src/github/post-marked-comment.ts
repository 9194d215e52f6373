import type { GitHubClient } from "./octokit.js";

/**
 * Post a comment identified by a hidden marker. On a retry it looks for the marker first, so the
 * comment is never posted twice; on the first try it posts directly (nothing could exist yet).
 */
export async function postMarkedComment(
  octokit: GitHubClient,
  params: { owner: string; repo: string; issueNumber: number; marker: string; body: string; lookFirst: boolean },
): Promise<{ commentId: number; created: boolean }> {
  const tag = `<!-- ${params.marker} -->`;
  if (params.lookFirst) {
    for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, {
      owner: params.owner,
      repo: params.repo,
      issue_number: params.issueNumber,
      per_page: 100,
    })) {
      const found = page.data.find((comment) => comment.body?.includes(tag));
      if (found) return { commentId: found.id, created: false };
    }
  }
  const { data } = await octokit.rest.issues.createComment({
    owner: params.owner,
    repo: params.repo,
    issue_number: params.issueNumber,
    body: `${tag}\n${params.body}`,
  });
  return { commentId: data.id, created: true };
}
