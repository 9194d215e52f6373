/** Every side effect the workflow can ask for. Effects are data; only the engine executes them. */
export const EffectKind = Object.freeze({
  authorizeTrigger: "authorize_trigger",
  ensureBranch: "ensure_branch",
  openDraftPr: "open_draft_pr",
  addLabels: "add_labels",
  upsertStatusComment: "upsert_status_comment",
} as const);

/** An effect kind's value. */
export type EffectKind = (typeof EffectKind)[keyof typeof EffectKind];

/** The closed union of effects. Each one is idempotent when executed (see src/engine/effects/). */
export type Effect =
  | { kind: typeof EffectKind.authorizeTrigger; sender: string; label: string }
  | { kind: typeof EffectKind.ensureBranch; branch: string; baseBranch: string; planMessage: string }
  | { kind: typeof EffectKind.openDraftPr; branch: string; baseBranch: string; title: string; body: string }
  | { kind: typeof EffectKind.addLabels; issueNumber: number; labels: string[] }
  | { kind: typeof EffectKind.upsertStatusComment };

/** Effects that may run while a task is frozen or finished: only the status comment that says so. */
export function isAllowedWhileHeld(kind: EffectKind): boolean {
  return kind === EffectKind.upsertStatusComment;
}
