import { INSTALLATION_ID, loadExample } from "./payloads.js";

const INSTALLATION = { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };

/** Who sent a delivery: a login, and whether GitHub calls it a user or a bot. */
export interface SenderOptions {
  sender?: string;
  senderType?: "User" | "Bot";
}

function applySender(payload: Record<string, any>, options: SenderOptions): void {
  payload.sender.login = options.sender ?? payload.sender.login;
  payload.sender.type = options.senderType ?? payload.sender.type;
}

/** What to change in a `pull_request.synchronize` payload. */
export interface SynchronizePayloadOptions extends SenderOptions {
  prNumber: number;
  headRef: string;
  headSha: string;
  /** The head the push replaced (GitHub's `before`); the example's otherwise. */
  before?: string;
}

/** A `pull_request.synchronize` payload from the documented example: a push to the PR's branch. */
export function buildSynchronizePayload(options: SynchronizePayloadOptions): Record<string, any> {
  const payload = loadExample("pull_request", "synchronize");
  payload.installation = INSTALLATION;
  payload.number = options.prNumber;
  payload.pull_request.number = options.prNumber;
  payload.pull_request.head.ref = options.headRef;
  payload.pull_request.head.sha = options.headSha;
  payload.after = options.headSha;
  if (options.before !== undefined) payload.before = options.before;
  applySender(payload, options);
  return payload;
}

/** What to change in a `pull_request.closed` payload. */
export interface ClosedPayloadOptions extends SenderOptions {
  prNumber: number;
  headRef: string;
  merged: boolean;
  mergeCommitSha?: string | null;
}

/** A `pull_request.closed` payload from the documented example, merged or not. */
export function buildClosedPullRequestPayload(options: ClosedPayloadOptions): Record<string, any> {
  const payload = loadExample("pull_request", "closed");
  payload.installation = INSTALLATION;
  payload.number = options.prNumber;
  payload.pull_request.number = options.prNumber;
  payload.pull_request.head.ref = options.headRef;
  payload.pull_request.merged = options.merged;
  if (options.mergeCommitSha !== undefined) payload.pull_request.merge_commit_sha = options.mergeCommitSha;
  applySender(payload, options);
  return payload;
}

/** What to change in a `pull_request_review.submitted` payload. */
export interface ReviewPayloadOptions extends SenderOptions {
  prNumber: number;
  headRef: string;
  state: string;
  body?: string | null;
  reviewId?: number;
  commitId?: string;
}

/** A `pull_request_review.submitted` payload from the documented example. */
export function buildReviewPayload(options: ReviewPayloadOptions): Record<string, any> {
  const payload = loadExample("pull_request_review", "submitted");
  payload.installation = INSTALLATION;
  payload.pull_request.number = options.prNumber;
  payload.pull_request.head.ref = options.headRef;
  payload.review.state = options.state;
  if (options.body !== undefined) payload.review.body = options.body;
  payload.review.id = options.reviewId ?? payload.review.id;
  payload.review.commit_id = options.commitId ?? payload.review.commit_id;
  applySender(payload, options);
  return payload;
}

/** What to change in a `check_suite.completed` payload. */
export interface CheckSuitePayloadOptions {
  headBranch: string | null;
  headSha?: string;
  conclusion?: string | null;
  suiteId?: number;
  app?: string;
}

/** A `check_suite.completed` payload from the documented example of a GitHub Actions suite. */
export function buildCheckSuitePayload(options: CheckSuitePayloadOptions): Record<string, any> {
  const payload = loadExample("check_suite", "completed", 1);
  payload.installation = INSTALLATION;
  payload.check_suite.head_branch = options.headBranch;
  payload.check_suite.head_sha = options.headSha ?? payload.check_suite.head_sha;
  // A push made the suite: GitHub sets `after` to the pushed head.
  payload.check_suite.after = payload.check_suite.head_sha;
  if (options.conclusion !== undefined) payload.check_suite.conclusion = options.conclusion;
  payload.check_suite.id = options.suiteId ?? payload.check_suite.id;
  payload.check_suite.app.slug = options.app ?? payload.check_suite.app.slug;
  return payload;
}

/** What to change in an `issue_comment.created` payload. */
export interface IssueCommentPayloadOptions extends SenderOptions {
  body: string;
  issueNumber: number;
  onPullRequest?: boolean;
  commentId?: number;
  title?: string;
}

/** An `issue_comment.created` payload from the documented example, on an issue or on a PR. */
export function buildIssueCommentPayload(options: IssueCommentPayloadOptions): Record<string, any> {
  const payload = loadExample("issue_comment", "created");
  payload.installation = INSTALLATION;
  payload.issue.number = options.issueNumber;
  payload.issue.title = options.title ?? payload.issue.title;
  payload.comment.body = options.body;
  payload.comment.id = options.commentId ?? payload.comment.id;
  if (options.onPullRequest) {
    const url = `https://github.com/${payload.repository.full_name}/pull/${options.issueNumber}`;
    payload.issue.pull_request = {
      url: `https://api.github.com/repos/${payload.repository.full_name}/pulls/${options.issueNumber}`,
      html_url: url,
      diff_url: `${url}.diff`,
      patch_url: `${url}.patch`,
    };
  } else {
    delete payload.issue.pull_request;
  }
  applySender(payload, options);
  return payload;
}

/** What to change in a `status` payload. */
export interface StatusPayloadOptions {
  sha: string;
  context: string;
  state: "pending" | "success" | "failure" | "error";
  /** The branches GitHub says hold the commit. */
  branches: string[];
  description?: string;
  targetUrl?: string;
  id?: number;
}

/** A `status` payload (a commit status: Jenkins and the like) from the documented example. */
export function buildStatusPayload(options: StatusPayloadOptions): Record<string, any> {
  const payload = loadExample("status", null);
  payload.installation = INSTALLATION;
  payload.id = options.id ?? payload.id;
  payload.sha = options.sha;
  payload.context = options.context;
  payload.state = options.state;
  payload.description = options.description ?? null;
  payload.target_url = options.targetUrl ?? null;
  payload.commit.sha = options.sha;
  payload.branches = options.branches.map((name) => ({
    name,
    commit: { sha: options.sha, url: `https://api.github.com/repos/Codertocat/Hello-World/commits/${options.sha}` },
    protected: false,
  }));
  return payload;
}
