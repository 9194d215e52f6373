import { markReadyForReview } from "./mark-ready-for-review.js";
import type { GitHubClient } from "./octokit.js";
import type { CheckRunView } from "./render-check-run.js";
import { STATUS_MARKER } from "./upsert-status-comment.js";

/** Parameters for markReadyAndDraw: the PR, and the surfaces to redraw with it (null: not drawn here). */
export interface MarkReadyAndDrawParams {
  owner: string;
  repo: string;
  prNumber: number;
  /** The issue's status comment and its new body. */
  statusComment: { id: number; body: string } | null;
  /** The task's `foreman` check run (on the head it is drawn for) and its new view. */
  checkRun: { id: number; view: CheckRunView } | null;
}

/** What markReadyAndDraw did: whether the PR was already ready, which surfaces it drew, and why one was not. */
export interface MarkReadyAndDrawResult {
  alreadyReady: boolean;
  drewStatusComment: boolean;
  drewCheckRun: boolean;
  /** Why a surface that was asked for was not drawn (left to its own redraw), or why the batch fell back. */
  skipped: string[];
}

interface Part {
  /** The variable's declaration, e.g. `$ready: MarkPullRequestReadyForReviewInput!`. */
  declaration: string;
  /** The aliased mutation field with its selection. */
  field: string;
  variable: string;
  input: Record<string, unknown>;
}

type BatchData = {
  ready?: { pullRequest?: { isDraft?: boolean } | null } | null;
  comment?: { issueComment?: { id?: string } | null } | null;
  checkRun?: { checkRun?: { status?: string; conclusion?: string | null } | null } | null;
} | null;

/**
 * Take a draft PR out of draft and redraw the status comment and the check run in ONE GraphQL
 * request of several mutations (ADR 0017): one write where REST takes three. The node ids are read
 * first (reads are not writes): the PR's and its repository's from the PR, the comment's and the
 * run's from their REST reads. An already-ready PR is not marked again, but the surfaces are still
 * drawn (a retry). A surface that is gone (404) or a run that cannot take the view (completed with
 * another conclusion) is left out, for its own REST redraw. When GitHub answers with errors, what
 * its data shows as done is done; if the PR was not marked, it is marked alone. A transport error
 * (5xx, timeout) propagates: the write is never re-sent here (the effect's durable retry is).
 */
export async function markReadyAndDraw(
  octokit: GitHubClient,
  params: MarkReadyAndDrawParams,
): Promise<MarkReadyAndDrawResult> {
  const { owner, repo } = params;
  const { data: pull } = await octokit.rest.pulls.get({ owner, repo, pull_number: params.prNumber });
  const skipped: string[] = [];
  const parts: Part[] = [];
  if (pull.draft) {
    parts.push({
      declaration: "$ready: MarkPullRequestReadyForReviewInput!",
      field: "ready: markPullRequestReadyForReview(input: $ready) { pullRequest { isDraft } }",
      variable: "ready",
      input: { pullRequestId: pull.node_id },
    });
  }
  const comment = params.statusComment ? await readCommentNodeId(octokit, params, params.statusComment.id) : null;
  if (params.statusComment && comment === null) skipped.push("status comment not found");
  if (params.statusComment && comment !== null) {
    const body = params.statusComment.body.includes(STATUS_MARKER)
      ? params.statusComment.body
      : `${STATUS_MARKER}\n${params.statusComment.body}`;
    parts.push({
      declaration: "$comment: UpdateIssueCommentInput!",
      field: "comment: updateIssueComment(input: $comment) { issueComment { id } }",
      variable: "comment",
      input: { id: comment, body },
    });
  }
  const run = params.checkRun ? await readCheckRunNodeId(octokit, params, params.checkRun) : null;
  if (run !== null && "reason" in run) skipped.push(run.reason);
  if (params.checkRun && run !== null && "nodeId" in run) {
    parts.push({
      declaration: "$checkRun: UpdateCheckRunInput!",
      field: "checkRun: updateCheckRun(input: $checkRun) { checkRun { status conclusion } }",
      variable: "checkRun",
      input: toCheckRunInput(run.nodeId, pull.base.repo.node_id, params.checkRun.view),
    });
  }
  const result = { alreadyReady: !pull.draft, drewStatusComment: false, drewCheckRun: false, skipped };
  if (parts.length === 0) return result;
  const data = await sendBatch(octokit, parts, skipped);
  result.drewStatusComment = Boolean(data?.comment?.issueComment);
  result.drewCheckRun = isApplied(data?.checkRun?.checkRun ?? null, params.checkRun?.view ?? null);
  if (comment !== null && !result.drewStatusComment) skipped.push("status comment not updated");
  if (run !== null && "nodeId" in run && !result.drewCheckRun) skipped.push("check run not updated");
  // The PR must leave draft whatever became of the redraws: alone, as before this batch.
  if (pull.draft && data?.ready?.pullRequest?.isDraft !== false) {
    skipped.push("marked ready alone");
    await markReadyForReview(octokit, { owner, repo, prNumber: params.prNumber });
  }
  return result;
}

/** The mutation of the parts, in order (GitHub runs a document's mutations one after another). */
export function buildBatchMutation(parts: ReadonlyArray<Pick<Part, "declaration" | "field">>): string {
  return `mutation (${parts.map((part) => part.declaration).join(", ")}) {\n${parts.map((part) => `  ${part.field}`).join("\n")}\n}`;
}

// One request. A GraphQL error answer (HTTP 200 with `errors`) still carries what was done in its
// `data`; any other failure is the attempt's.
async function sendBatch(octokit: GitHubClient, parts: Part[], skipped: string[]): Promise<BatchData> {
  const variables = Object.fromEntries(parts.map((part) => [part.variable, part.input]));
  try {
    return await octokit.graphql<BatchData>(buildBatchMutation(parts), variables);
  } catch (error) {
    const answer = error as {
      name?: string;
      errors?: ReadonlyArray<{ type?: string; message?: string }>;
      data?: BatchData;
    };
    if (answer.name !== "GraphqlResponseError" || !Array.isArray(answer.errors)) throw error;
    skipped.push(...answer.errors.map((entry) => `GraphQL ${entry.type ?? "error"}: ${entry.message ?? ""}`.trim()));
    return answer.data ?? null;
  }
}

// The comment's node id, or null when it is gone (someone deleted it: the REST redraw makes a new one).
async function readCommentNodeId(
  octokit: GitHubClient,
  params: { owner: string; repo: string },
  id: number,
): Promise<string | null> {
  try {
    const { data } = await octokit.rest.issues.getComment({ owner: params.owner, repo: params.repo, comment_id: id });
    return data.node_id;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}

// The run's node id, or why it cannot be drawn here: gone, or completed with another conclusion
// (GitHub never changes a conclusion; the REST redraw replaces such a run).
async function readCheckRunNodeId(
  octokit: GitHubClient,
  params: { owner: string; repo: string },
  checkRun: { id: number; view: CheckRunView },
): Promise<{ nodeId: string } | { reason: string }> {
  try {
    const { data } = await octokit.rest.checks.get({
      owner: params.owner,
      repo: params.repo,
      check_run_id: checkRun.id,
    });
    if (data.status === "completed" && data.conclusion !== checkRun.view.conclusion)
      return { reason: "check run completed with another conclusion" };
    return { nodeId: data.node_id };
  } catch (error) {
    if ((error as { status?: number }).status === 404) return { reason: "check run not found" };
    throw error;
  }
}

// GraphQL's enums are the REST values in capitals.
function toCheckRunInput(checkRunId: string, repositoryId: string, view: CheckRunView): Record<string, unknown> {
  return {
    checkRunId,
    repositoryId,
    status: view.status.toUpperCase(),
    ...(view.conclusion ? { conclusion: view.conclusion.toUpperCase() } : {}),
    ...(view.detailsUrl ? { detailsUrl: view.detailsUrl } : {}),
    output: { title: view.title, summary: view.summary },
  };
}

function isApplied(run: { status?: string; conclusion?: string | null } | null, view: CheckRunView | null): boolean {
  if (run === null || view === null) return false;
  const conclusion = view.conclusion?.toUpperCase() ?? null;
  return run.status === view.status.toUpperCase() && (conclusion === null || run.conclusion === conclusion);
}
