import { EffectKind, type OutboxEffectKind } from "../../workflow/effects.js";
import { authorizeTrigger } from "./authorize-trigger.js";
import { runAnswerCommand, runAuthorizeActor } from "./command-effects.js";
import type { EffectFacts, EffectInput, EffectOutcome, PayloadOf } from "./effect-outcome.js";
import { runCollectCiResult, runPostReview, runRequestReviewers, runUpsertCheckRun } from "./pipeline-effects.js";
import {
  runAddLabels,
  runEnsureBranch,
  runOpenDraftPr,
  runPostPullRequestComment,
  runRemoveLabel,
} from "./prepare-pull-request.js";
import { runMarkReadyForReview } from "./mark-ready-for-review.js";
import { runRecordMerge, runResolveBase } from "./shadow-and-merge-effects.js";
import { runUpsertStatusComment } from "./update-status-comment.js";

/** How one kind of effect is executed: the executor, and the facts the runner reads for it first. */
export interface EffectExecutor<K extends OutboxEffectKind> {
  run(input: EffectInput<PayloadOf<K>>): Promise<EffectOutcome>;
  facts?: ReadonlyArray<keyof EffectFacts>;
}

/**
 * Every outbox effect's executor, by kind. The type insists on one entry per kind, so an effect
 * kind without an executor does not compile. Every executor is idempotent: running it twice has
 * one effect on GitHub (AGENTS.md rule 2).
 */
export const EFFECT_EXECUTORS: { readonly [K in OutboxEffectKind]: EffectExecutor<K> } = Object.freeze({
  [EffectKind.authorizeTrigger]: { run: authorizeTrigger },
  [EffectKind.ensureBranch]: { run: runEnsureBranch },
  [EffectKind.openDraftPr]: { run: runOpenDraftPr },
  [EffectKind.addLabels]: { run: runAddLabels },
  [EffectKind.removeLabel]: { run: runRemoveLabel },
  [EffectKind.upsertStatusComment]: { run: runUpsertStatusComment, facts: ["jobs", "queuePosition"] },
  [EffectKind.postPullRequestComment]: { run: runPostPullRequestComment },
  [EffectKind.upsertCheckRun]: { run: runUpsertCheckRun, facts: ["jobs", "latestRecordHash"] },
  [EffectKind.postReview]: { run: runPostReview },
  [EffectKind.markReadyForReview]: {
    run: runMarkReadyForReview,
    facts: ["jobs", "queuePosition", "latestRecordHash"],
  },
  [EffectKind.requestReviewers]: { run: runRequestReviewers },
  [EffectKind.collectCiResult]: { run: runCollectCiResult },
  [EffectKind.authorizeActor]: { run: runAuthorizeActor },
  [EffectKind.answerCommand]: { run: runAnswerCommand, facts: ["jobs"] },
  [EffectKind.recordMerge]: { run: runRecordMerge },
  [EffectKind.resolveBase]: { run: runResolveBase },
});

/** The executor of a stored effect's kind; an unknown kind (a row written by a newer version) throws. */
export function findEffectExecutor(kind: string): EffectExecutor<OutboxEffectKind> {
  const executor = (EFFECT_EXECUTORS as Record<string, EffectExecutor<OutboxEffectKind> | undefined>)[kind];
  if (!executor) throw new Error(`unknown effect kind ${kind}`);
  return executor;
}
