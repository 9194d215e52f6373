import type { AuthorizedAction, IssueRef } from "./events.js";

/** Every side effect the workflow can ask for. Effects are data; only the engine executes them. */
export const EffectKind = Object.freeze({
  authorizeTrigger: "authorize_trigger",
  ensureBranch: "ensure_branch",
  openDraftPr: "open_draft_pr",
  addLabels: "add_labels",
  removeLabel: "remove_label",
  upsertStatusComment: "upsert_status_comment",
  postPullRequestComment: "post_pr_comment",
  dispatchAgentJob: "dispatch_agent_job",
  cancelAgentJob: "cancel_agent_job",
  upsertCheckRun: "upsert_check_run",
  postReview: "post_review",
  markReadyForReview: "mark_ready_for_review",
  requestReviewers: "request_reviewers",
  collectCiResult: "collect_ci_result",
  authorizeActor: "authorize_actor",
  answerCommand: "answer_command",
  recordMerge: "record_merge",
  resolveBase: "resolve_base",
  scheduleCiWait: "schedule_ci_wait",
  startRetryTask: "start_retry_task",
} as const);

/** An effect kind's value. */
export type EffectKind = (typeof EffectKind)[keyof typeof EffectKind];

/** The closed union of effects. Each one is idempotent when executed (see src/engine/effects/). */
export type Effect =
  | { kind: typeof EffectKind.authorizeTrigger; sender: string; label: string }
  | { kind: typeof EffectKind.ensureBranch; branch: string; baseBranch: string; planMessage: string }
  | { kind: typeof EffectKind.openDraftPr; branch: string; baseBranch: string; title: string; body: string }
  | { kind: typeof EffectKind.addLabels; issueNumber: number; labels: string[] }
  /** Take one label off an issue or PR (a label already gone counts as removed). */
  | { kind: typeof EffectKind.removeLabel; issueNumber: number; label: string }
  | { kind: typeof EffectKind.upsertStatusComment }
  | { kind: typeof EffectKind.postPullRequestComment; prNumber: number; marker: string; body: string }
  | { kind: typeof EffectKind.dispatchAgentJob; jobId: string; role: string; baseSha: string }
  | { kind: typeof EffectKind.cancelAgentJob; jobId: string }
  /** Create or update the `foreman` check run on the PR head from the task as stored (completed when the task ended). */
  | { kind: typeof EffectKind.upsertCheckRun }
  /** A review with `event: COMMENT` (never APPROVE or REQUEST_CHANGES), found again by its marker. */
  | {
      kind: typeof EffectKind.postReview;
      prNumber: number;
      commitSha: string;
      marker: string;
      body: string;
      comments: Array<{ path: string; line: number; body: string }>;
    }
  | { kind: typeof EffectKind.markReadyForReview; prNumber: number; note?: string }
  | { kind: typeof EffectKind.requestReviewers; prNumber: number; users: string[]; teams: string[] }
  /** Read a completed suite's failing checks (summaries, annotations, log tails) and whether every suite on the SHA is done. */
  /** `suiteId`: the suite that prompted the read, or null when a commit status did. */
  | { kind: typeof EffectKind.collectCiResult; sha: string; suiteId: number | null; apps: string[] }
  | { kind: typeof EffectKind.authorizeActor; login: string; action: AuthorizedAction }
  /** Reply to a comment command: a status, an explanation, or a polite refusal (once per user and task). */
  | {
      kind: typeof EffectKind.answerCommand;
      issueNumber: number;
      answer: "status" | "explain" | "refusal" | "note";
      login: string;
      command: string;
      text?: string;
      commentId?: number;
      refusalScope?: "task" | "issue";
    }
  /** At merge: record the approving reviews and the merge commit (reads only). */
  | { kind: typeof EffectKind.recordMerge; prNumber: number; mergeCommitSha: string | null }
  /** Shadow mode: read the default branch head to run on (no branch, no PR). */
  | { kind: typeof EffectKind.resolveBase; baseBranch: string }
  /** Internal: wake the task when no CI suite has come for `sha` after `afterMs`. */
  | { kind: typeof EffectKind.scheduleCiWait; sha: string; afterMs: number }
  /**
   * Internal: a writer's `/foreman retry` on the issue of this ended task was authorised; queue the
   * event that starts the new task (once per ended task: keyed by its id).
   */
  | { kind: typeof EffectKind.startRetryTask; sender: string; commentId: number; issue: IssueRef };

/**
 * Effects that still run for a frozen task (or while Foreman is paused): the comments that say
 * what happened, and reads. (A freeze itself only ever asks for the status comment.)
 */
export const ALLOWED_WHILE_FROZEN: readonly EffectKind[] = Object.freeze([
  EffectKind.upsertStatusComment,
  EffectKind.postPullRequestComment,
  EffectKind.answerCommand,
  EffectKind.authorizeActor,
]);

/** Effects that still run for a finished task: its last words, the check run's completion, and the merge's record. */
export const ALLOWED_AFTER_END: readonly EffectKind[] = Object.freeze([
  ...ALLOWED_WHILE_FROZEN,
  EffectKind.upsertCheckRun,
  EffectKind.recordMerge,
]);

/** The kinds the engine applies inside the transition's own transaction (they only touch Foreman's database). */
export type InternalEffectKind = "dispatch_agent_job" | "cancel_agent_job" | "schedule_ci_wait" | "start_retry_task";

/** The kinds that go to the outbox and are executed against GitHub after the transition commits. */
export type OutboxEffectKind = Exclude<EffectKind, InternalEffectKind>;

/**
 * Effects the engine applies inside the transition's own transaction, because they only touch
 * Foreman's database (queue or cancel a job, a timer); all others go to the outbox and run after commit.
 */
export function isInternalEffect(effect: Effect): effect is Extract<Effect, { kind: InternalEffectKind }> {
  return (
    effect.kind === EffectKind.dispatchAgentJob ||
    effect.kind === EffectKind.cancelAgentJob ||
    effect.kind === EffectKind.scheduleCiWait ||
    effect.kind === EffectKind.startRetryTask
  );
}
