import { EffectKind } from "../../workflow/effects.js";
import { authorizeTrigger } from "./authorize-trigger.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";
import { runAddLabels, runEnsureBranch, runOpenDraftPr, runPostPullRequestComment } from "./prepare-pull-request.js";
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
    case EffectKind.upsertStatusComment:
      return runUpsertStatusComment(input);
    case EffectKind.postPullRequestComment:
      return runPostPullRequestComment(input as never);
    default:
      throw new Error(`unknown effect kind ${kind}`);
  }
}
