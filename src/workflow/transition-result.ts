import { EffectKind, type Effect } from "./effects.js";
import { TaskState } from "./states.js";
import type { Task, TaskReason } from "./task.js";

/** The outcome of one event: the task as it is now (null when none exists) and the effects to run, in order. */
export interface TransitionResult {
  next: Task | null;
  effects: Effect[];
}

/** The effect that re-renders the status comment. */
export const statusComment: Effect = Object.freeze({ kind: EffectKind.upsertStatusComment });

/** An ignored event: the same task object, no effects. */
export function unchanged(task: Task | null): TransitionResult {
  return { next: task, effects: [] };
}

/** End a task with a reason: say so on the issue, and stop its agent job if one is queued or running. */
export function stop(task: Task, state: TaskState, reason: TaskReason, at: string): TransitionResult {
  return { next: { ...task, state, reason, updatedAt: at }, effects: [statusComment, ...cancelJob(task)] };
}

/** Withdraw the task's queued job or stop its running one. */
export function cancelJob(task: Task): Effect[] {
  return task.jobId !== null && (task.state === TaskState.awaitingAgent || task.state === TaskState.running)
    ? [{ kind: EffectKind.cancelAgentJob, jobId: task.jobId }]
    : [];
}
