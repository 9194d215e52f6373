import type { GitHubClient } from "./octokit.js";

/** GitHub's page size cap for issue comments. */
const PAGE_SIZE = 100;

/** One issue comment as Foreman reads it. */
export interface IssueComment {
  id: number;
  body: string;
  author: string;
  /** GitHub's `author_association`: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, NONE, … */
  association: string;
  createdAt: string;
}

/** The newest comments of an issue (oldest first), and how many earlier ones were not read. */
export interface NewestIssueComments {
  comments: IssueComment[];
  skipped: number;
}

/**
 * Read an issue's newest comments: GitHub lists them oldest first, and has no "newest first" for
 * one issue, so the first page's `Link` header names the last page and the last two pages are
 * read (at least 100 comments, however long the thread). Earlier pages are counted, not read.
 */
export async function listNewestIssueComments(
  octokit: GitHubClient,
  params: { owner: string; repo: string; issueNumber: number },
): Promise<NewestIssueComments> {
  const read = (page?: number) =>
    octokit.rest.issues.listComments({
      owner: params.owner,
      repo: params.repo,
      issue_number: params.issueNumber,
      per_page: PAGE_SIZE,
      ...(page === undefined ? {} : { page }),
    });
  const first = await read();
  const last = findLastPage(first.headers.link);
  if (last === null || last <= 1) return { comments: first.data.map(toIssueComment), skipped: 0 };
  const pages = last === 2 ? [first, await read(2)] : await Promise.all([read(last - 1), read(last)]);
  return {
    comments: pages.flatMap((page) => page.data.map(toIssueComment)),
    skipped: last === 2 ? 0 : (last - 2) * PAGE_SIZE,
  };
}

/** The page number of the `rel="last"` link in a `Link` header, or null when there is none. */
export function findLastPage(link: string | undefined): number | null {
  if (link === undefined) return null;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="last"/.exec(part);
    if (match === null) continue;
    const page = Number(new URL(match[1]!).searchParams.get("page"));
    return Number.isInteger(page) && page > 0 ? page : null;
  }
  return null;
}

function toIssueComment(comment: {
  id: number;
  body?: string | null;
  user?: { login: string } | null;
  author_association?: string;
  created_at: string;
}): IssueComment {
  return {
    id: comment.id,
    body: comment.body ?? "",
    author: comment.user?.login ?? "ghost",
    association: comment.author_association ?? "NONE",
    createdAt: comment.created_at,
  };
}
