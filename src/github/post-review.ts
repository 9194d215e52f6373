import type { GitHubClient } from "./octokit.js";

/** One inline comment of a review, on a line of the PR's new code. */
export interface ReviewComment {
  path: string;
  line: number;
  body: string;
}

/** Parameters for postReview. */
export interface PostReviewParams {
  owner: string;
  repo: string;
  prNumber: number;
  /** The commit the review is about (GitHub anchors inline comments to it). */
  commitSha: string;
  /** Hidden in the body; finds the review again on a retry. */
  marker: string;
  body: string;
  comments: readonly ReviewComment[];
  /** True on a retry: look for a review carrying the marker first. */
  lookFirst: boolean;
}

/** The review posted (or found): its id, how many comments went inline, and whether this call made it. */
export interface PostReviewOutcome {
  reviewId: number;
  /** Inline comments posted; null for a review found again (GitHub's list does not say). */
  inline: number | null;
  created: boolean;
}

// GitHub rejects a review body over 65536 characters.
const MAX_BODY_LENGTH = 60_000;

/**
 * Post a review with `event: COMMENT` only: the bot never approves nor requests changes. When GitHub
 * refuses an inline comment (422: its line is not in the diff), the review is posted again with the
 * comments folded into the body as a list, so nothing the reviewer said is lost.
 */
export async function postReview(octokit: GitHubClient, params: PostReviewParams): Promise<PostReviewOutcome> {
  const tag = `<!-- ${params.marker} -->`;
  if (params.lookFirst) {
    const existing = await findMarkedReview(octokit, params, tag);
    if (existing !== null) return { reviewId: existing, inline: null, created: false };
  }
  const base = {
    owner: params.owner,
    repo: params.repo,
    pull_number: params.prNumber,
    commit_id: params.commitSha,
    event: "COMMENT" as const,
  };
  if (params.comments.length > 0) {
    try {
      const comments = params.comments.map((comment) => ({
        path: comment.path,
        line: comment.line,
        side: "RIGHT" as const,
        body: comment.body,
      }));
      const { data } = await octokit.rest.pulls.createReview({
        ...base,
        body: cap(`${tag}\n${params.body}`),
        comments,
      });
      return { reviewId: data.id, inline: comments.length, created: true };
    } catch (error) {
      if ((error as { status?: number }).status !== 422) throw error;
    }
  }
  const { data } = await octokit.rest.pulls.createReview({
    ...base,
    body: cap(`${tag}\n${foldComments(params.body, params.comments)}`),
  });
  return { reviewId: data.id, inline: 0, created: true };
}

/** The review body with the inline comments appended as a list (`path:line` — body). */
export function foldComments(body: string, comments: readonly ReviewComment[]): string {
  if (comments.length === 0) return body;
  // Continuation lines are indented so a multi-line comment stays inside its list item.
  const items = comments.map(
    (comment) => `- \`${comment.path}:${comment.line}\` — ${comment.body.trim().replace(/\n/g, "\n  ")}`,
  );
  return `${body}\n\n${items.join("\n")}`;
}

async function findMarkedReview(octokit: GitHubClient, params: PostReviewParams, tag: string): Promise<number | null> {
  for await (const page of octokit.paginate.iterator(octokit.rest.pulls.listReviews, {
    owner: params.owner,
    repo: params.repo,
    pull_number: params.prNumber,
    per_page: 100,
  })) {
    const found = page.data.find((review) => review.body?.includes(tag));
    if (found) return found.id;
  }
  return null;
}

function cap(body: string): string {
  return body.length > MAX_BODY_LENGTH
    ? `${body.slice(0, MAX_BODY_LENGTH - 40)}\n\n… (cut: the review was too long)`
    : body;
}
