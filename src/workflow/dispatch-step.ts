import { EffectKind } from "./effects.js";
import { TaskState } from "./states.js";
import { ReasonCode, type StepFeedback, type StepPurpose, type StepRecord, type Task } from "./task.js";
import { stop, type TransitionResult } from "./transition-result.js";

/** Ids the engine hands in for what a transition creates. */
export interface JobIds {
  newJobId: string;
}

/** The role that writes the code, and does revisions. */
export const CODER = "coder";
/** The role sent when CI fails. */
export const CI_FIXER = "ci_fixer";

/**
 * Queue an agent job for a step on the branch head (the runner starts it when a container slot is
 * free), and add the step to the checklist. `feedback` is what the step must act on (a review, CI failures).
 */
export function dispatchStep(
  task: Task,
  role: string,
  purpose: StepPurpose,
  feedback: StepFeedback | null,
  facts: JobIds,
): TransitionResult {
  const baseSha = task.headSha ?? task.baseSha;
  if (baseSha === null)
    return stop(
      task,
      TaskState.failed,
      { code: ReasonCode.internalError, message: "Foreman lost track of the branch head; start again." },
      task.updatedAt,
    );
  const step: StepRecord = { role, purpose, status: "queued", jobId: facts.newJobId, commitSha: null, summary: null };
  // A new step: the pushes seen during the previous one are done with.
  const { pushesDuringStep: _previousStep, ...pipeline } = task.pipeline;
  return {
    next: {
      ...task,
      state: TaskState.awaitingAgent,
      step: role,
      jobId: facts.newJobId,
      pipeline: { ...pipeline, purpose, feedback, steps: [...task.pipeline.steps, step] },
    },
    effects: [{ kind: EffectKind.dispatchAgentJob, jobId: facts.newJobId, role, baseSha }],
  };
}
