import { EffectKind, type Effect } from "./effects.js";
import { mentionActor, nameCommand } from "./mention-actor.js";
import { type EventType, type EventOf } from "./events.js";
import { TaskState } from "./states.js";
import { ReasonCode, type Task } from "./task.js";
import { CI_FIXER, CODER, dispatchStep, type JobIds } from "./dispatch-step.js";
import { withConfigDefaults } from "./defaults.js";
import {
  clearEscalation,
  display,
  stop,
  unchanged,
  type TransitionFacts,
  type TransitionResult,
} from "./transition-result.js";
import { DEFAULT_TASK_CONFIG } from "./defaults.js";
import { maySteerTask } from "./permissions.js";
import { notePushDuringStep } from "./pushes-during-step.js";

/** States in which the task's work is pushed and a human may ask for more. */
const REVISABLE: readonly TaskState[] = [TaskState.awaitingCi, TaskState.readyForReview, TaskState.escalated];

/** States in which a step runs or waits to run: a human review is kept for when it is done. */
const STEPPING: readonly TaskState[] = [TaskState.awaitingAgent, TaskState.running];

/**
 * Someone pushed to the task's branch. A human's commit is kept: it becomes the head the next step
 * starts from, and CI is awaited on it. (While a step runs, its push notices the moved branch and
 * the step runs again on top of the human's commit.) Foreman's own pushes are known by the commit
 * its job recorded (`facts.foremanPushes`), or by the sender being Foreman's own app
 * (`event.byForeman`), which covers a report that outruns the job's record of its one-write push.
 * Any other bot's push is kept like a human's.
 */
export function onSynchronized(
  task: Task,
  event: EventOf<typeof EventType.pullRequestSynchronized>,
  at: string,
  facts: Pick<TransitionFacts, "foremanPushes">,
): TransitionResult {
  if (
    event.byForeman === true ||
    (facts.foremanPushes ?? []).includes(event.headSha) ||
    event.headSha === task.headSha ||
    !(REVISABLE.includes(task.state) || STEPPING.includes(task.state))
  )
    return unchanged(task);
  const moved: Task = { ...task, headSha: event.headSha, pipeline: { ...task.pipeline, ci: null }, updatedAt: at };
  // A step is running or queued: the head it will end on is the human's (a code step's push
  // notices the moved branch and runs again on top of it; a review step pushes nothing). The push
  // is kept for the step's end: it may be on top of the step's own commit, not yet reported.
  if (STEPPING.includes(task.state)) return { next: notePushDuringStep(moved, event), effects: [] };
  // Ready for review: the human carries on; only the check run moves to the new head.
  if (task.state === TaskState.readyForReview) return { next: moved, effects: display(moved) };
  // Awaiting CI, or escalated and a human pushed the fix: CI on the new head decides.
  const config = withConfigDefaults(task.config);
  const waiting: Task = {
    ...moved,
    state: TaskState.awaitingCi,
    reason: null,
    pipeline: { ...moved.pipeline, waitingCiSha: event.headSha },
  };
  return {
    next: waiting,
    effects: [
      ...clearEscalation(task, config.freezeLabel),
      ...display(waiting),
      { kind: EffectKind.scheduleCiWait, sha: event.headSha, afterMs: config.ci.waitMinutes * 60_000 },
    ],
  };
}

/** A human review asking for changes becomes a revision step once the reviewer's write access is confirmed. */
export function onReviewSubmitted(
  task: Task,
  event: EventOf<typeof EventType.pullRequestReviewSubmitted>,
): TransitionResult {
  if (
    event.senderIsBot ||
    event.state !== "changes_requested" ||
    !(REVISABLE.includes(task.state) || STEPPING.includes(task.state))
  )
    return unchanged(task);
  return {
    next: task,
    effects: [
      {
        kind: EffectKind.authorizeActor,
        login: event.sender,
        action: { kind: "review", reviewId: event.reviewId, body: event.body },
      },
    ],
  };
}

/** A `/foreman` command: first confirm the sender may give it. */
export function onCommandReceived(task: Task, event: EventOf<typeof EventType.commandReceived>): TransitionResult {
  return {
    next: task,
    effects: [
      {
        kind: EffectKind.authorizeActor,
        login: event.sender,
        action: {
          kind: "command",
          command: event.command,
          commentId: event.commentId,
          // A retry on the issue of an ended task starts a new one from the issue's text now.
          ...(event.command === "retry" && !event.onPullRequest ? { issue: event.issue } : {}),
        },
      },
    ],
  };
}

/** The permission behind a review or a command is known: act on it, or refuse politely (once per person and task). */
export function onActorChecked(
  task: Task,
  event: EventOf<typeof EventType.actorChecked>,
  at: string,
  facts: JobIds,
): TransitionResult {
  const { action, login } = event;
  const allowed = maySteerTask(event.role);
  // Answers go on the issue, next to the status comment, whether the command came on the issue or the PR.
  const answerOn = task.issueNumber;
  if (action.kind === "review") {
    if (!allowed) return unchanged(task);
    const feedback = {
      kind: "review" as const,
      author: login,
      body: action.body,
      comments: [],
      reviewId: action.reviewId,
    };
    // A step is running: the revision follows it (before CI is awaited).
    if (STEPPING.includes(task.state))
      return {
        next: { ...task, updatedAt: at, pipeline: { ...task.pipeline, pendingFeedback: feedback } },
        effects: [],
      };
    if (!REVISABLE.includes(task.state)) return unchanged(task);
    // A human's revision starts a new round: CI gets its attempts again.
    const revising: Task = {
      ...task,
      reason: null,
      updatedAt: at,
      pipeline: { ...task.pipeline, humanRevisions: task.pipeline.humanRevisions + 1, ciAttempts: 0 },
    };
    const dispatched = dispatchStep(revising, CODER, "human_revision", feedback, facts);
    return {
      next: dispatched.next,
      effects: [
        ...clearEscalation(task, task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel),
        ...display(dispatched.next!),
        ...dispatched.effects,
      ],
    };
  }
  const commentId = action.commentId;
  const note = (text: string): Effect => ({
    kind: EffectKind.answerCommand,
    issueNumber: answerOn,
    answer: "note",
    login,
    command: action.command,
    text,
    commentId,
  });
  if (!allowed) {
    return {
      next: task,
      effects: [
        {
          kind: EffectKind.answerCommand,
          issueNumber: answerOn,
          answer: "refusal",
          login,
          command: action.command,
          commentId,
        },
      ],
    };
  }
  switch (action.command) {
    case "status":
    case "explain":
      return {
        next: task,
        effects: [
          {
            kind: EffectKind.answerCommand,
            issueNumber: answerOn,
            answer: action.command,
            login,
            command: action.command,
            commentId,
          },
        ],
      };
    case "stop":
      return stop(
        task,
        TaskState.cancelled,
        {
          code: ReasonCode.stoppedByCommand,
          message: `${mentionActor(login)} stopped Foreman with ${nameCommand(login, "stop")}. The branch and any PR are left for you.`,
        },
        at,
      );
    case "retry":
      return retry(task, login, at, facts, note);
  }
}

/** `/foreman retry`: try again from where the task is stuck. */
function retry(task: Task, login: string, at: string, facts: JobIds, note: (text: string) => Effect): TransitionResult {
  const config = withConfigDefaults(task.config);
  switch (task.state) {
    case TaskState.escalated: {
      // Another round of CI fixing, with the failures CI reported last.
      const feedback =
        task.pipeline.feedback ??
        (task.pipeline.ci && task.headSha ? { kind: "ci" as const, sha: task.headSha, failures: [] } : null);
      const fresh: Task = { ...task, reason: null, updatedAt: at, pipeline: { ...task.pipeline, ciAttempts: 1 } };
      const dispatched = dispatchStep(
        fresh,
        feedback?.kind === "ci" ? CI_FIXER : CODER,
        feedback?.kind === "ci" ? "ci_fix" : "human_revision",
        feedback,
        facts,
      );
      return {
        next: dispatched.next,
        effects: [
          note(
            `${mentionActor(login)} asked to retry: Foreman runs another ${feedback?.kind === "ci" ? "ci_fixer" : "coder"} step (up to ${config.maxCiAttempts} CI attempts).`,
          ),
          ...clearEscalation(task, config.freezeLabel),
          ...display(dispatched.next!),
          ...dispatched.effects,
        ],
      };
    }
    case TaskState.awaitingCi:
      // Maybe CI reported while Foreman was not listening: read the head's CI again now.
      if (task.headSha === null) return unchanged(task);
      return {
        next: { ...task, updatedAt: at },
        effects: [
          note(`${mentionActor(login)} asked to retry: Foreman reads CI on ${task.headSha.slice(0, 7)} again.`),
          {
            kind: EffectKind.collectCiResult,
            sha: task.headSha,
            suiteId: task.pipeline.ci?.suiteId ?? 0,
            apps: config.ci.apps,
          },
        ],
      };
    default:
      return {
        next: task,
        effects: [
          note(
            `${mentionActor(login)}: there is nothing to retry right now — the task is \`${task.state}\`. \`/foreman status\` says what it is doing.`,
          ),
        ],
      };
  }
}
