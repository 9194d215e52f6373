import type { TaskState } from "../workflow/states.js";
import type { StepPurpose, StepRecord, Task } from "../workflow/task.js";

/**
 * How each state of a task is named on each surface people read, in one table: the status
 * comment's icon and headline, the check run's title, and the sentence `/foreman status` and
 * `/foreman explain` use. The `Record` types insist on a row for every state.
 */
export const TASK_STATE_WORDS: Readonly<
  Record<TaskState, { icon: string; headline: string; title: (task: Task) => string; sentence: string }>
> = Object.freeze({
  queued: {
    icon: "⏳",
    headline: "queued",
    title: () => "Queued",
    sentence: "queued: Foreman is checking the label's sender and the repository's settings",
  },
  waiting: {
    icon: "🚦",
    headline: "waiting for the default branch to be green",
    title: () => "Waiting for the default branch to turn green",
    sentence: "waiting: the default branch's CI is red, and only bugfix tasks start until it is green again",
  },
  preparing: {
    icon: "🛠️",
    headline: "preparing the branch and draft PR",
    title: () => "Preparing the branch and draft PR",
    sentence: "preparing the branch and the draft pull request",
  },
  awaiting_agent: {
    icon: "🤖",
    headline: "draft PR open, waiting for an agent",
    title: (task) => `Waiting for a container for the ${task.step ?? "next"} step`,
    sentence: "waiting for a free agent slot",
  },
  running: {
    icon: "⚙️",
    headline: "an agent is working",
    title: (task) => `The ${task.step ?? "agent"} step is running`,
    sentence: "an agent is working",
  },
  awaiting_ci: {
    icon: "🧪",
    headline: "changes pushed, waiting for CI",
    title: () => "Waiting for CI",
    sentence: "waiting for CI on the latest push",
  },
  ready_for_review: {
    icon: "👀",
    headline: "ready for your review",
    title: () => "Ready for review",
    sentence: "ready for a human's review",
  },
  escalated: {
    icon: "🙋",
    headline: "needs a human",
    title: () => "Needs a human",
    sentence: "handed to a human: CI stayed red after Foreman's attempts (`/foreman retry` tries again)",
  },
  frozen: { icon: "🧊", headline: "frozen", title: () => "Frozen by a human", sentence: "frozen" },
  merged: { icon: "✅", headline: "merged", title: () => "Merged", sentence: "done: the pull request was merged" },
  closed: {
    icon: "⏹️",
    headline: "PR closed",
    title: () => "PR closed without merging",
    sentence: "stopped: the pull request was closed without merging",
  },
  completed: {
    icon: "🌒",
    headline: "shadow run finished",
    title: () => "Shadow run completed",
    sentence: "completed in shadow mode: the agents ran and nothing was pushed",
  },
  cancelled: { icon: "⏹️", headline: "stopped", title: () => "Stopped", sentence: "stopped" },
  failed: { icon: "❌", headline: "failed", title: () => "Failed", sentence: "failed" },
});

/** Why a step ran, in words (null for an ordinary pipeline step), on every surface. */
export const STEP_PURPOSE_WORDS: Readonly<Record<StepPurpose, string | null>> = Object.freeze({
  pipeline: null,
  review_revision: "revision after the reviewer agent's review",
  ci_fix: "fixing failing CI",
  human_revision: "revision a human asked for",
});

/** A checklist line's mark for each step status, on every surface. */
export const STEP_STATUS_ICONS: Readonly<Record<StepRecord["status"], string>> = Object.freeze({
  queued: "⬜",
  running: "⚙️",
  succeeded: "✅",
  failed: "❌",
  stopped: "⏸️",
});
