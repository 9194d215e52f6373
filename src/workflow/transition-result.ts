import { EffectKind, type Effect } from "./effects.js";
import { TaskState } from "./states.js";
import type { Task, TaskReason } from "./task.js";

/** The outcome of one event: the task as it is now (null when none exists) and the effects to run, in order. */
export interface TransitionResult {
  next: Task | null;
  effects: Effect[];
}

/**
 * Whether a task is still a candidate: the trigger check has not judged its label yet. A candidate
 * writes nothing to GitHub, whatever happens to it (`transition()` holds it to that).
 */
export function isCandidate(task: Task): boolean {
  return task.triggerVerdict === "pending";
}

/** The effect that re-renders the issue's status comment. */
export const statusComment: Effect = Object.freeze({ kind: EffectKind.upsertStatusComment });

/** The effect that re-renders the `foreman` check run on the PR head. */
export const checkRun: Effect = Object.freeze({ kind: EffectKind.upsertCheckRun });

/**
 * Whether the PR's head carries work to check: the task has a PR and its head has moved past the
 * empty plan commit. Only then is there a `foreman` check run (none is left behind on the plan commit).
 */
export function hasWorkOnHead(task: Task): boolean {
  return task.prNumber !== null && task.headSha !== null && task.headSha !== task.pipeline.planSha;
}

/** A milestone (the PR opened, CI awaited, ready, escalated, ended): the status comment, and the check run when there is one. */
export function display(task: Task): Effect[] {
  return hasWorkOnHead(task) ? [statusComment, checkRun] : [statusComment];
}

/**
 * Progress between milestones (a step starts or hands over to the next): one surface only — the
 * check run once there is one, else the status comment. Each redraw is a GitHub write.
 */
export function progress(task: Task): Effect[] {
  return hasWorkOnHead(task) ? [checkRun] : [statusComment];
}

/** An ignored event: the same task object, no effects. */
export function unchanged(task: Task | null): TransitionResult {
  return { next: task, effects: [] };
}

/** End a task with a reason: say so on the issue and the PR's check run, and stop its agent job if one is queued or running. */
export function stop(task: Task, state: TaskState, reason: TaskReason, at: string): TransitionResult {
  const next: Task = { ...task, state, reason, updatedAt: at };
  return { next, effects: [...display(next), ...cancelJob(task)] };
}

/** Withdraw the task's queued job or stop its running one. */
export function cancelJob(task: Task): Effect[] {
  return task.jobId !== null &&
    task.jobId !== task.pipeline.stoppedJobId &&
    (task.state === TaskState.awaitingAgent || task.state === TaskState.running)
    ? [{ kind: EffectKind.cancelAgentJob, jobId: task.jobId }]
    : [];
}

/** Leaving `escalated`: the freeze label Foreman put on the PR comes off, so the PR says what is true. */
export function clearEscalation(task: Task, freezeLabel: string): Effect[] {
  return task.state === TaskState.escalated && task.prNumber !== null
    ? [{ kind: EffectKind.removeLabel, issueNumber: task.prNumber, label: freezeLabel }]
    : [];
}

/** What the engine knows that the workflow may use; the workflow itself reads no clock, id source or database. */
export interface TransitionFacts {
  /** The id to give a task this event creates. */
  newTaskId: string;
  /** The id to give an agent job this event dispatches. */
  newJobId: string;
  /** Trigger labels the repo's recently read config declared, beyond the `agent:` prefix; null when not read lately. */
  knownTriggerLabels: readonly string[] | null;
  /** Whether the latest suite of the task's CI apps on the repo's own default branch failed (red mode). */
  repoRed?: boolean;
  /** For a `synchronize`: the commits Foreman's jobs pushed to the task's branch (its own pushes). */
  foremanPushes?: readonly string[];
  /** The trigger label of the issue's latest task, for `/foreman retry` after it ended. */
  previousTriggerLabel?: string | null;
}
