/** Every state a task can be in. A closed set: the transition switch is exhaustive over it. */
export const TaskState = Object.freeze({
  /** Trigger seen; the sender's permission and the repo config are being checked. */
  queued: "queued",
  /** Authorised, but the repo's default branch is red (red mode): only `bugfix` tasks start; this one waits for green. */
  waiting: "waiting",
  /** Authorised: branch, plan commit and draft PR are being created. */
  preparing: "preparing",
  /** Draft PR open; the step's agent job is queued for a container slot. */
  awaitingAgent: "awaiting_agent",
  /** An agent job of the current step runs in a container. */
  running: "running",
  /** The step's work is pushed; waiting for CI on the new head. */
  awaitingCi: "awaiting_ci",
  /** CI is green and the pipeline done: the PR is ready for review; a human reviews and merges. */
  readyForReview: "ready_for_review",
  /** Foreman gave up on its own (CI still red after its attempts): `needs-human-review` is on the PR; `/foreman retry` resumes. */
  escalated: "escalated",
  /** Held by a human (`needs-human-review`); remembers where to resume. */
  frozen: "frozen",
  /** The PR was merged by a human. */
  merged: "merged",
  /** The PR was closed without merging by a human. */
  closed: "closed",
  /** A shadow-mode task ran all its steps; results are in the status comment, nothing was pushed. */
  completed: "completed",
  /** Stopped on purpose: issue closed, agent label removed, or trigger not allowed. */
  cancelled: "cancelled",
  /** Stopped by a problem the user must fix (invalid config, a GitHub error that did not heal). */
  failed: "failed",
} as const);

/** A task state's value. */
export type TaskState = (typeof TaskState)[keyof typeof TaskState];

/** States in which a task is still alive; at most one such task per issue (a unique partial index). */
export const ACTIVE_STATES: readonly TaskState[] = Object.freeze([
  TaskState.queued,
  TaskState.waiting,
  TaskState.preparing,
  TaskState.awaitingAgent,
  TaskState.running,
  TaskState.awaitingCi,
  TaskState.readyForReview,
  TaskState.escalated,
  TaskState.frozen,
]);

/** States a task never leaves. */
export const TERMINAL_STATES: readonly TaskState[] = Object.freeze([
  TaskState.merged,
  TaskState.closed,
  TaskState.completed,
  TaskState.cancelled,
  TaskState.failed,
]);

/** States in which a task runs nothing but its status comment: frozen, or finished. */
export const HELD_STATES: readonly TaskState[] = Object.freeze([TaskState.frozen, ...TERMINAL_STATES]);

/** Whether a task in this state is still alive (may still change). */
export function isActiveState(state: TaskState): boolean {
  return ACTIVE_STATES.includes(state);
}

/** Whether a task in this state is finished for good. */
export function isTerminalState(state: TaskState): boolean {
  return TERMINAL_STATES.includes(state);
}
