import { createHash } from "node:crypto";
import { upsertCheckRun } from "../../github/check-run.js";
import { collectCiResult } from "../../github/collect-ci-result.js";
import { postReview } from "../../github/post-review.js";
import { requestReviewers } from "../../github/request-reviewers.js";
import type { Effect } from "../../workflow/effects.js";
import { withConfigDefaults } from "../../workflow/defaults.js";
import { EventType } from "../../workflow/events.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";
import { renderTaskCheckRun } from "./render-task-surfaces.js";

type PostReviewPayload = Omit<Extract<Effect, { kind: "post_review" }>, "kind">;
type RequestReviewersPayload = Omit<Extract<Effect, { kind: "request_reviewers" }>, "kind">;
type CollectCiResultPayload = Omit<Extract<Effect, { kind: "collect_ci_result" }>, "kind">;

/** Create or update the `foreman` check run on the PR head from the task as stored; the engine stores the returned run. */
export async function runUpsertCheckRun({
  task,
  octokit,
  attempt,
  checkRun,
  publicUrl,
  webBaseUrl,
  facts,
}: EffectInput<unknown>): Promise<EffectOutcome> {
  const sha = task.headSha ?? task.baseSha;
  const prNumber = task.prNumber;
  if (sha === null || prNumber === null) return { evidence: {} };
  const { view, recordHash } = renderTaskCheckRun({ ...task, prNumber }, facts, { publicUrl, webBaseUrl });
  const { id, created, superseded } = await upsertCheckRun(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    headSha: sha,
    externalId: task.id,
    view,
    known: checkRun,
    lookFirst: attempt > 1,
  });
  return {
    checkRun: { id, sha },
    evidence: {
      checkRunId: id,
      sha,
      created,
      ...(superseded !== null ? { supersededCheckRunId: superseded } : {}),
      status: view.status,
      conclusion: view.conclusion,
      recordHash,
      summarySha256: createHash("sha256").update(view.summary).digest("hex"),
    },
  };
}

/** Post the review a reviewer step wrote, as a comment-only review, once (found again by its marker). */
export async function runPostReview({
  payload,
  task,
  octokit,
  attempt,
}: EffectInput<PostReviewPayload>): Promise<EffectOutcome> {
  const { reviewId, inline, created } = await postReview(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    prNumber: payload.prNumber,
    commitSha: payload.commitSha,
    marker: payload.marker,
    body: payload.body,
    comments: payload.comments,
    lookFirst: attempt > 1,
  });
  return { evidence: { prNumber: payload.prNumber, reviewId, commitSha: payload.commitSha, inline, created } };
}

/** Ask the repo's configured reviewers to review the PR (nothing when none are configured). */
export async function runRequestReviewers({
  payload,
  task,
  octokit,
}: EffectInput<RequestReviewersPayload>): Promise<EffectOutcome> {
  const { requested, problem } = await requestReviewers(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    prNumber: payload.prNumber,
    users: payload.users,
    teams: payload.teams,
  });
  return {
    evidence: {
      prNumber: payload.prNumber,
      users: payload.users,
      teams: payload.teams,
      requested,
      ...(problem ? { problem } : {}),
    },
  };
}

/** Read CI's verdict on a head SHA and what failed; feeds `ci_result_collected` back. Reads only, so a retry is harmless. */
export async function runCollectCiResult({
  payload,
  task,
  octokit,
}: EffectInput<CollectCiResultPayload>): Promise<EffectOutcome> {
  const ci = withConfigDefaults(task.config).ci;
  const { verdict, failures, suites, statuses, required, rule } = await collectCiResult(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    sha: payload.sha,
    apps: payload.apps,
    statuses: ci.statuses,
    requiredOnly: ci.requiredOnly,
    // The PR goes into the default branch: its rules say which checks are required.
    baseBranch: task.repo.defaultBranch,
  });
  return {
    event: { type: EventType.ciResultCollected, taskId: task.id, sha: payload.sha, verdict, failures },
    evidence: {
      sha: payload.sha,
      suiteId: payload.suiteId,
      verdict,
      rule,
      required,
      suites,
      statuses,
      failing: failures.map((failure) => failure.name),
    },
  };
}
