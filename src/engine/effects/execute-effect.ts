import { EffectKind } from "../../workflow/effects.js";
import { authorizeTrigger } from "./authorize-trigger.js";
import { runAnswerCommand, runAuthorizeActor } from "./command-effects.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";
import {
  runCollectCiResult,
  runMarkReadyForReview,
  runPostReview,
  runRequestReviewers,
  runUpsertCheckRun,
} from "./pipeline-effects.js";
import {
  runAddLabels,
  runEnsureBranch,
  runOpenDraftPr,
  runPostPullRequestComment,
  runRemoveLabel,
} from "./prepare-pull-request.js";
import { runRecordMerge, runResolveBase } from "./shadow-and-merge-effects.js";
import { runUpsertStatusComment } from "./update-status-comment.js";

/** Execute one effect by kind. Every executor is idempotent: running it twice has one effect on GitHub. */
export async function executeEffect(kind: string, input: EffectInput<Record<string, unknown>>): Promise<EffectOutcome> {
  switch (kind) {
    case EffectKind.authorizeTrigger:
      return authorizeTrigger(input as never);
    case EffectKind.ensureBranch:
      return runEnsureBranch(input as never);
    case EffectKind.openDraftPr:
      return runOpenDraftPr(input as never);
    case EffectKind.addLabels:
      return runAddLabels(input as never);
    case EffectKind.removeLabel:
      return runRemoveLabel(input as never);
    case EffectKind.upsertStatusComment:
      return runUpsertStatusComment(input);
    case EffectKind.postPullRequestComment:
      return runPostPullRequestComment(input as never);
    case EffectKind.upsertCheckRun:
      return runUpsertCheckRun(input as never);
    case EffectKind.postReview:
      return runPostReview(input as never);
    case EffectKind.markReadyForReview:
      return runMarkReadyForReview(input as never);
    case EffectKind.requestReviewers:
      return runRequestReviewers(input as never);
    case EffectKind.collectCiResult:
      return runCollectCiResult(input as never);
    case EffectKind.authorizeActor:
      return runAuthorizeActor(input as never);
    case EffectKind.answerCommand:
      return runAnswerCommand(input as never);
    case EffectKind.recordMerge:
      return runRecordMerge(input as never);
    case EffectKind.resolveBase:
      return runResolveBase(input as never);
    default:
      throw new Error(`unknown effect kind ${kind}`);
  }
}
