/** Every side effect the workflow can ask for. Effects are data; only the engine executes them. */
export const EffectKind = Object.freeze({
  authorizeTrigger: "authorize_trigger",
  ensureBranch: "ensure_branch",
  openDraftPr: "open_draft_pr",
  addLabels: "add_labels",
  upsertStatusComment: "upsert_status_comment",
  postPullRequestComment: "post_pr_comment",
  dispatchAgentJob: "dispatch_agent_job",
  cancelAgentJob: "cancel_agent_job",
} as const);

/** An effect kind's value. */
export type EffectKind = (typeof EffectKind)[keyof typeof EffectKind];

/** The closed union of effects. Each one is idempotent when executed (see src/engine/effects/). */
export type Effect =
  | { kind: typeof EffectKind.authorizeTrigger; sender: string; label: string }
  | { kind: typeof EffectKind.ensureBranch; branch: string; baseBranch: string; planMessage: string }
  | { kind: typeof EffectKind.openDraftPr; branch: string; baseBranch: string; title: string; body: string }
  | { kind: typeof EffectKind.addLabels; issueNumber: number; labels: string[] }
  | { kind: typeof EffectKind.upsertStatusComment }
  | { kind: typeof EffectKind.postPullRequestComment; prNumber: number; marker: string; body: string }
  | { kind: typeof EffectKind.dispatchAgentJob; jobId: string; role: string; baseSha: string }
  | { kind: typeof EffectKind.cancelAgentJob; jobId: string };

/**
 * Effects that still run for a frozen or finished task: the comments that say what happened.
 * (A freeze itself only ever asks for the status comment.)
 */
export const ALLOWED_WHILE_HELD: readonly EffectKind[] = Object.freeze([EffectKind.upsertStatusComment, EffectKind.postPullRequestComment]);

/**
 * Effects the engine applies inside the transition's own transaction, because they only touch
 * Foreman's database (queue or cancel a job); all others go to the outbox and run after commit.
 */
export function isInternalEffect(effect: Effect): effect is Extract<Effect, { kind: "dispatch_agent_job" | "cancel_agent_job" }> {
  return effect.kind === EffectKind.dispatchAgentJob || effect.kind === EffectKind.cancelAgentJob;
}
