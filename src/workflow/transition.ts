import { DEFAULT_TASK_CONFIG, PRIORITY_LABELS } from "./defaults.js";
import { EffectKind, isInternalEffect, type Effect } from "./effects.js";
import { EventType, type DomainEvent, type EventOf } from "./events.js";
import { TaskState, isTerminalState } from "./states.js";
import { onJobFailed, onJobFinished, onJobStarted, startPipeline } from "./pipeline-transitions.js";
import {
  onCheckSuiteCompleted,
  onCommitStatusReported,
  onCiResultCollected,
  onCiWaitExpired,
} from "./ci-transitions.js";
import { onActorChecked, onCommandReceived, onReviewSubmitted, onSynchronized } from "./human-transitions.js";
import { transitionEnded } from "./ended-transitions.js";
import { beginWork, onTriggerChecked, startTask } from "./trigger-transitions.js";
import {
  cancelJob,
  checkRun,
  display,
  isCandidate,
  statusComment,
  stop,
  unchanged,
  type TransitionFacts,
  type TransitionResult,
} from "./transition-result.js";
import { ReasonCode, type Task, type TaskReason } from "./task.js";

export type { TransitionFacts, TransitionResult } from "./transition-result.js";
export { findPriority } from "./defaults.js";

/**
 * The task state machine: given a task (or null when the issue has none), an event and the time,
 * decide the next task and the effects to execute. Pure: no I/O, no clock, no randomness.
 */
export function transition(task: Task | null, event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  if (task === null) return startTask(event, now, facts);
  if (isTerminalState(task.state)) return transitionEnded(task, event);
  const result =
    task.state === TaskState.frozen
      ? transitionFrozen(task, event, now, facts)
      : transitionActive(task, event, now, facts);
  // Until the trigger check has judged its label, a task may be anybody's ordinary label: whatever
  // happens to it (a freeze, an unlabel, a close, a command), it says and writes nothing.
  return isCandidate(task) && event.type !== EventType.triggerChecked ? silence(result) : result;
}

/** A candidate's result with only what writes nothing to GitHub: the trigger check's read and Foreman's own tables. */
function silence(result: TransitionResult): TransitionResult {
  const effects = result.effects.filter(
    (effect) => effect.kind === EffectKind.authorizeTrigger || isInternalEffect(effect),
  );
  return effects.length === result.effects.length ? result : { next: result.next, effects };
}

function transitionActive(task: Task, event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  const at = now.toISOString();
  const freezeLabel = task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel;
  switch (event.type) {
    case EventType.issueLabeled:
    case EventType.pullRequestLabeled:
      if (event.type === EventType.issueLabeled && PRIORITY_LABELS[event.label] !== undefined) {
        // The latest priority label decides the task's place in the queue.
        return { next: { ...task, priority: PRIORITY_LABELS[event.label]!, updatedAt: at }, effects: [] };
      }
      // An escalated task already waits for a human: Foreman put the label on its PR itself.
      if (
        event.label !== freezeLabel ||
        (task.state === TaskState.escalated && event.type === EventType.pullRequestLabeled)
      )
        return unchanged(task);
      return {
        next: {
          ...task,
          state: TaskState.frozen,
          resumeState: task.state,
          frozenBy: event.sender,
          frozenOn: event.type === EventType.issueLabeled ? "issue" : "pull_request",
          pipeline: task.state === TaskState.running ? { ...task.pipeline, stoppedJobId: task.jobId } : task.pipeline,
          updatedAt: at,
        },
        // A running container is stopped; a queued job simply waits (the runner skips frozen tasks).
        effects: [statusComment, ...(task.state === TaskState.running ? cancelJob(task) : [])],
      };
    case EventType.issueUnlabeled:
      if (PRIORITY_LABELS[event.label] !== undefined && PRIORITY_LABELS[event.label] === task.priority) {
        return { next: { ...task, priority: 0, updatedAt: at }, effects: [] };
      }
      if (event.label !== task.triggerLabel) return unchanged(task);
      return stop(
        task,
        TaskState.cancelled,
        {
          code: ReasonCode.labelRemoved,
          message: `@${event.sender} removed the \`${event.label}\` label, so Foreman stopped. The branch and any PR are left for you.`,
        },
        at,
      );
    case EventType.pullRequestUnlabeled:
    case EventType.issueReopened:
      return unchanged(task);
    case EventType.issueClosed:
      return stop(
        task,
        TaskState.cancelled,
        {
          code: ReasonCode.issueClosed,
          message: `@${event.sender} closed the issue, so Foreman stopped. The branch and any PR are left for you.`,
        },
        at,
      );
    case EventType.pullRequestClosed:
      return onPullRequestClosed(task, event, at);
    case EventType.triggerChecked:
      return onTriggerChecked(task, event, at, facts);
    case EventType.repoTurnedGreen:
      if (task.state !== TaskState.waiting || task.config === null) return unchanged(task);
      return beginWork({ ...task, reason: null, updatedAt: at }, task.config);
    case EventType.branchReady:
      if (task.state !== TaskState.preparing) return unchanged(task);
      return {
        next: {
          ...task,
          branch: event.branch,
          baseSha: event.baseSha,
          headSha: event.headSha,
          pipeline: { ...task.pipeline, planSha: event.headSha },
          updatedAt: at,
        },
        effects: [],
      };
    case EventType.baseResolved: {
      if (task.state !== TaskState.preparing) return unchanged(task);
      const started = startPipeline({ ...task, baseSha: event.sha, headSha: event.sha, updatedAt: at }, facts);
      return { next: started.next, effects: [...display(started.next!), ...started.effects] };
    }
    case EventType.draftPrOpened:
      return onDraftPrOpened(task, event, at, facts);
    case EventType.effectFailed:
      return onEffectFailed(task, event, at);
    case EventType.jobStarted:
      return onJobStarted(task, event, at);
    case EventType.jobFinished:
      return onJobFinished(task, event, at, facts);
    case EventType.jobFailed:
      return onJobFailed(task, event, at, facts);
    case EventType.checkSuiteCompleted:
      return onCheckSuiteCompleted(task, event, at);
    case EventType.commitStatusReported:
      return onCommitStatusReported(task, event, at);
    case EventType.ciResultCollected:
      return onCiResultCollected(task, event, at, facts);
    case EventType.ciWaitExpired:
      return onCiWaitExpired(task, event, at);
    case EventType.pullRequestSynchronized:
      return onSynchronized(task, event, at, facts);
    case EventType.pullRequestReviewSubmitted:
      return onReviewSubmitted(task, event);
    case EventType.commandReceived:
      return onCommandReceived(task, event);
    case EventType.actorChecked:
      return onActorChecked(task, event, at, facts);
    default:
      return assertNever(event);
  }
}

function onPullRequestClosed(
  task: Task,
  event: EventOf<typeof EventType.pullRequestClosed>,
  at: string,
): TransitionResult {
  if (!event.merged) {
    return stop(
      task,
      TaskState.closed,
      {
        code: ReasonCode.prClosed,
        message: `@${event.sender} closed #${event.prNumber} without merging, so Foreman stopped.`,
      },
      at,
    );
  }
  const merged = stop(
    task,
    TaskState.merged,
    { code: ReasonCode.prMerged, message: `@${event.sender} merged #${event.prNumber}.` },
    at,
  );
  // The record of the change: who approved it and the merge commit.
  merged.effects.push({ kind: EffectKind.recordMerge, prNumber: event.prNumber, mergeCommitSha: event.mergeCommitSha });
  return merged;
}

function onDraftPrOpened(
  task: Task,
  event: EventOf<typeof EventType.draftPrOpened>,
  at: string,
  facts: TransitionFacts,
): TransitionResult {
  if (task.state !== TaskState.preparing) return unchanged(task);
  const labels = task.config?.prLabels ?? [];
  const effects: Effect[] =
    labels.length > 0 ? [{ kind: EffectKind.addLabels, issueNumber: event.number, labels }] : [];
  const opened: Task = { ...task, prNumber: event.number, prUrl: event.url, updatedAt: at };
  // The first step works on the branch head the plan commit made.
  const started = startPipeline(opened, facts);
  return { next: started.next, effects: [...effects, ...display(started.next!), ...started.effects] };
}

function onEffectFailed(task: Task, event: EventOf<typeof EventType.effectFailed>, at: string): TransitionResult {
  // A check run not drawn or reviewers not asked is worth saying on the issue, not worth ending the task.
  if (event.effectKind === EffectKind.upsertCheckRun || event.effectKind === EffectKind.requestReviewers) {
    const what =
      event.effectKind === EffectKind.upsertCheckRun
        ? "draw its `foreman` check run on the PR"
        : "ask the configured reviewers";
    const next: Task = {
      ...task,
      reason: { code: ReasonCode.sideWriteFailed, message: `Foreman could not ${what}: ${event.message}` },
      updatedAt: at,
    };
    return { next, effects: [statusComment] };
  }
  const reason: TaskReason = {
    code: event.code === "INTERNAL" ? ReasonCode.internalError : ReasonCode.githubError,
    message: event.message,
  };
  const next: Task = { ...task, state: TaskState.failed, reason, updatedAt: at };
  // When the status comment itself cannot be written, asking for another one would only fail again.
  const shown = event.effectKind === EffectKind.upsertStatusComment ? [] : display(next);
  return { next, effects: [...shown, ...cancelJob(task)] };
}

/**
 * A frozen task still learns facts (a PR that was being opened when the freeze came in) but acts on
 * nothing: the event is applied as if the task were in its resume state, the result becomes the new
 * resume state, and the effects wait in the outbox until the freeze is lifted. Ending events end it.
 */
function transitionFrozen(task: Task, event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  const at = now.toISOString();
  const freezeLabel = task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel;
  const unfreezeType = task.frozenOn === "pull_request" ? EventType.pullRequestUnlabeled : EventType.issueUnlabeled;
  if (event.type === unfreezeType && event.label === freezeLabel) {
    const next: Task = {
      ...task,
      state: task.resumeState ?? TaskState.queued,
      resumeState: null,
      frozenBy: null,
      frozenOn: null,
      updatedAt: at,
    };
    return { next, effects: display(next) };
  }
  if (
    (event.type === EventType.issueLabeled || event.type === EventType.pullRequestLabeled) &&
    event.label === freezeLabel
  ) {
    return unchanged(task);
  }
  const resumeState = task.resumeState ?? TaskState.queued;
  const asResumed: Task = { ...task, state: resumeState };
  const inner = transitionActive(asResumed, event, now, facts);
  if (inner.next === null || inner.next === asResumed) {
    // Reads and answers (a permission check, `/foreman status`) still happen while frozen.
    return inner.effects.length > 0 ? { next: task, effects: inner.effects } : unchanged(task);
  }
  if (isTerminalState(inner.next.state)) {
    // The comment says "frozen"; whatever ends the task must replace that (a candidate wrote none).
    const replaced = isCandidate(task) || inner.effects.includes(statusComment);
    return {
      next: { ...inner.next, resumeState: null },
      effects: replaced ? inner.effects : [...inner.effects, statusComment],
    };
  }
  if (inner.next.state === TaskState.frozen) return unchanged(task);
  // While frozen, the PR's check run is not touched (no bot write but the comment): it is redrawn on resume.
  const held = inner.effects.filter((effect) => effect !== checkRun);
  // A candidate frozen before its label was judged wrote nothing; once it is a task, the issue says it is frozen.
  const judged =
    isCandidate(task) && !isCandidate(inner.next) && !held.includes(statusComment) ? [statusComment, ...held] : held;
  return { next: { ...inner.next, state: TaskState.frozen, resumeState: inner.next.state }, effects: judged };
}

function assertNever(value: never): never {
  throw new Error(`unhandled event: ${JSON.stringify(value)}`);
}
