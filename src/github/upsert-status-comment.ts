import type { GitHubClient } from "./octokit.js";

/** The hidden marker that identifies Foreman's one status comment on an issue. */
export const STATUS_MARKER = "<!-- foreman:status -->";

/** Parameters for upsertStatusComment. */
export interface UpsertStatusCommentParams {
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  /** The comment's id when Foreman already knows it (from this task or an earlier one on the issue). */
  commentId: number | null;
  /** True on a retry: without a known id, look for the marker before creating. */
  lookFirst: boolean;
}

/**
 * Create or edit the issue's single status comment. On a retry without a known id it looks for the
 * marker first, so a crash between creating the comment and recording its id never makes a second one.
 */
export async function upsertStatusComment(
  octokit: GitHubClient,
  params: UpsertStatusCommentParams,
): Promise<{ commentId: number; created: boolean }> {
  const { owner, repo } = params;
  const body = params.body.includes(STATUS_MARKER) ? params.body : `${STATUS_MARKER}\n${params.body}`;
  let commentId = params.commentId;
  if (commentId === null && params.lookFirst) commentId = await findStatusComment(octokit, params);
  if (commentId !== null) {
    try {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: commentId, body });
      return { commentId, created: false };
    } catch (error) {
      // Someone deleted the comment: make a new one below.
      if ((error as { status?: number }).status !== 404) throw error;
    }
  }
  const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: params.issueNumber, body });
  return { commentId: data.id, created: true };
}

async function findStatusComment(octokit: GitHubClient, params: UpsertStatusCommentParams): Promise<number | null> {
  const comments = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: params.owner,
    repo: params.repo,
    issue_number: params.issueNumber,
    per_page: 100,
  });
  for await (const page of comments) {
    const found = page.data.find((comment) => comment.body?.includes(STATUS_MARKER) && comment.user?.type === "Bot");
    if (found) return found.id;
  }
  return null;
}
