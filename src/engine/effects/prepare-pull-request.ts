import { ensureBranch } from "../../github/ensure-branch.js";
import { openDraftPullRequest } from "../../github/open-draft-pull-request.js";
import { postMarkedComment } from "../../github/post-marked-comment.js";
import type { Effect } from "../../workflow/effects.js";
import { EventType } from "../../workflow/events.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

type EnsureBranchPayload = Omit<Extract<Effect, { kind: "ensure_branch" }>, "kind">;
type OpenDraftPrPayload = Omit<Extract<Effect, { kind: "open_draft_pr" }>, "kind">;
type AddLabelsPayload = Omit<Extract<Effect, { kind: "add_labels" }>, "kind">;
type RemoveLabelPayload = Omit<Extract<Effect, { kind: "remove_label" }>, "kind">;
type PostCommentPayload = Omit<Extract<Effect, { kind: "post_pr_comment" }>, "kind">;

/** Create (or adopt) the task branch with its plan commit. */
export async function runEnsureBranch({
  payload,
  task,
  octokit,
  attempt,
}: EffectInput<EnsureBranchPayload>): Promise<EffectOutcome> {
  const outcome = await ensureBranch(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    branch: payload.branch,
    baseBranch: payload.baseBranch,
    planMessage: payload.planMessage,
    lookFirst: attempt > 1,
  });
  return {
    event: { type: EventType.branchReady, taskId: task.id, branch: payload.branch, ...outcome },
    evidence: { branch: payload.branch, ...outcome },
  };
}

/** Open (or adopt) the task's draft PR. */
export async function runOpenDraftPr({
  payload,
  task,
  octokit,
  attempt,
}: EffectInput<OpenDraftPrPayload>): Promise<EffectOutcome> {
  const outcome = await openDraftPullRequest(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    branch: payload.branch,
    baseBranch: payload.baseBranch,
    title: payload.title,
    body: payload.body,
    lookFirst: attempt > 1,
  });
  return {
    event: { type: EventType.draftPrOpened, taskId: task.id, ...outcome },
    evidence: { branch: payload.branch, ...outcome },
  };
}

/** Add labels to an issue or PR; adding a label that is already there changes nothing, so this is idempotent. */
export async function runAddLabels({ payload, task, octokit }: EffectInput<AddLabelsPayload>): Promise<EffectOutcome> {
  await octokit.rest.issues.addLabels({
    owner: task.repo.owner,
    repo: task.repo.name,
    issue_number: payload.issueNumber,
    labels: payload.labels,
  });
  return { evidence: { issueNumber: payload.issueNumber, labels: payload.labels } };
}

/** Take a label off an issue or PR; a label that is already gone (404) counts as removed, so this is idempotent. */
export async function runRemoveLabel({
  payload,
  task,
  octokit,
}: EffectInput<RemoveLabelPayload>): Promise<EffectOutcome> {
  try {
    await octokit.rest.issues.removeLabel({
      owner: task.repo.owner,
      repo: task.repo.name,
      issue_number: payload.issueNumber,
      name: payload.label,
    });
  } catch (error) {
    if ((error as { status?: number }).status !== 404) throw error;
    return { evidence: { issueNumber: payload.issueNumber, label: payload.label, removed: false } };
  }
  return { evidence: { issueNumber: payload.issueNumber, label: payload.label, removed: true } };
}

/** Post an explanation on the PR (a rejected diff, for one), once, found again by its marker. */
export async function runPostPullRequestComment({
  payload,
  task,
  octokit,
  attempt,
}: EffectInput<PostCommentPayload>): Promise<EffectOutcome> {
  const { commentId, created } = await postMarkedComment(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    issueNumber: payload.prNumber,
    marker: payload.marker,
    body: payload.body,
    lookFirst: attempt > 1,
  });
  return { evidence: { prNumber: payload.prNumber, marker: payload.marker, commentId, created } };
}
