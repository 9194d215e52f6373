import type { Effect } from "../../workflow/effects.js";
import { EventType } from "../../workflow/events.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

type ResolveBasePayload = Omit<Extract<Effect, { kind: "resolve_base" }>, "kind">;
type RecordMergePayload = Omit<Extract<Effect, { kind: "record_merge" }>, "kind">;

/** Shadow mode: read the default branch's head to run the agents on; nothing is written. */
export async function runResolveBase({
  payload,
  task,
  octokit,
}: EffectInput<ResolveBasePayload>): Promise<EffectOutcome> {
  const { data } = await octokit.rest.repos.getBranch({
    owner: task.repo.owner,
    repo: task.repo.name,
    branch: payload.baseBranch,
  });
  return {
    event: { type: EventType.baseResolved, taskId: task.id, sha: data.commit.sha },
    evidence: { baseBranch: payload.baseBranch, sha: data.commit.sha },
  };
}

/**
 * At merge, record who approved the change and what was merged: each reviewer's latest review
 * state (approvals count only from the latest review of each person) and the merge commit. Reads only.
 */
export async function runRecordMerge({
  payload,
  task,
  octokit,
}: EffectInput<RecordMergePayload>): Promise<EffectOutcome> {
  const owner = task.repo.owner;
  const repo = task.repo.name;
  const [reviews, pull] = await Promise.all([
    octokit.paginate(octokit.rest.pulls.listReviews, { owner, repo, pull_number: payload.prNumber, per_page: 100 }),
    octokit.rest.pulls.get({ owner, repo, pull_number: payload.prNumber }),
  ]);
  const latest = new Map<
    string,
    { login: string; state: string; commitId: string | null; submittedAt: string | null; reviewId: number }
  >();
  for (const review of reviews) {
    const login = review.user?.login;
    // Comments do not change a reviewer's verdict; approvals, change requests and dismissals do.
    if (!login || review.state === "COMMENTED" || review.state === "PENDING") continue;
    latest.set(login, {
      login,
      state: review.state,
      commitId: review.commit_id ?? null,
      submittedAt: review.submitted_at ?? null,
      reviewId: review.id,
    });
  }
  const approvals = [...latest.values()].filter((review) => review.state === "APPROVED");
  return {
    evidence: {
      prNumber: payload.prNumber,
      mergeCommitSha: payload.mergeCommitSha ?? pull.data.merge_commit_sha ?? null,
      mergedBy: pull.data.merged_by?.login ?? null,
      mergedAt: pull.data.merged_at ?? null,
      headSha: pull.data.head.sha,
      approvals,
      approvedByHuman: approvals.some((review) => !review.login.endsWith("[bot]")),
    },
  };
}
