import { judgeTrigger } from "./authorize.js";
import { buildBranchName } from "./build-branch-name.js";
import { buildDraftPullRequest, buildPlanCommitMessage } from "./build-pull-request.js";
import {
  DEFAULT_TASK_CONFIG,
  findPriority,
  isTriggerCandidate,
  resolvePipeline,
  withConfigDefaults,
} from "./defaults.js";
import { EffectKind } from "./effects.js";
import { EventType, type DomainEvent, type EventOf } from "./events.js";
import { maySteerTask } from "./permissions.js";
import { TaskState } from "./states.js";
import { emptyPipeline, ReasonCode, type Task, type TaskConfig, type TaskType } from "./task.js";
import { statusComment, stop, unchanged, type TransitionFacts, type TransitionResult } from "./transition-result.js";

// How a task begins: the label, the trigger check's verdict, and the first work (branch and draft PR).

/** A new task: a trigger candidate labelled on an issue without one, a reopened issue with one, or `/foreman retry` after the last task ended. */
export function startTask(event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  let label: string | undefined;
  if (event.type === EventType.issueLabeled) {
    label = isTriggerCandidate(event.label, facts.knownTriggerLabels) ? event.label : undefined;
  } else if (event.type === EventType.issueReopened) {
    // A reopened issue that still carries an agent label starts a fresh task (known labels only:
    // reopening an issue with unrelated labels must not read the config for each of them).
    label = event.labels.find((name) => isTriggerCandidate(name, facts.knownTriggerLabels ?? []));
  } else if (
    event.type === EventType.commandReceived &&
    event.command === "retry" &&
    !event.onPullRequest &&
    event.authorizedRetryOf !== undefined
  ) {
    // `/foreman retry` on an issue whose task ended, its sender's write access confirmed by that
    // task (`start_retry_task`): a fresh task with the same label. Nobody else's retry makes a row.
    label = facts.previousTriggerLabel ?? undefined;
  }
  if (
    label === undefined ||
    !(
      event.type === EventType.issueLabeled ||
      event.type === EventType.issueReopened ||
      event.type === EventType.commandReceived
    )
  ) {
    return unchanged(null);
  }
  const at = now.toISOString();
  const labels = event.type === EventType.issueReopened ? event.labels : event.issue.labels;
  const task: Task = {
    id: facts.newTaskId,
    repo: event.repo,
    issueNumber: event.issue.number,
    issueTitle: event.issue.title,
    // The text the labeller (or the writer asking to retry) saw: the agents work from it, not from later edits.
    issueSnapshot: event.issue.snapshot ?? null,
    type: guessTaskType(label),
    triggerLabel: label,
    triggeredBy: event.sender,
    triggerVerdict: "pending",
    state: TaskState.queued,
    resumeState: null,
    frozenBy: null,
    frozenOn: null,
    config: null,
    branch: null,
    baseSha: null,
    headSha: null,
    prNumber: null,
    prUrl: null,
    step: null,
    jobId: null,
    usage: { agentMs: 0, tokens: 0, costUsd: 0 },
    priority: findPriority(labels),
    pipeline: {
      ...emptyPipeline(),
      ...(event.type === EventType.commandReceived
        ? { origin: { kind: "retry" as const, commentId: event.commentId } }
        : {}),
    },
    reason: null,
    createdAt: at,
    updatedAt: at,
  };
  return { next: task, effects: [{ kind: EffectKind.authorizeTrigger, sender: event.sender, label }] };
}

/** The default type for a label before the repo config is known; authorisation sets the real one. */
function guessTaskType(label: string): TaskType {
  return DEFAULT_TASK_CONFIG.triggerLabels[label] ?? "ready";
}

/** The trigger check's facts are in: judge them (`judgeTrigger`), then start, wait for green, refuse, or end silently. */
export function onTriggerChecked(
  task: Task,
  event: EventOf<typeof EventType.triggerChecked>,
  at: string,
  facts: TransitionFacts,
): TransitionResult {
  if (task.state !== TaskState.queued) return unchanged(task);
  const verdict = judgeTrigger(task.triggerLabel, task.triggeredBy, event, task.repo.defaultBranch);
  const checked: Task = { ...task, ...(event.config !== null ? { config: event.config } : {}), updatedAt: at };
  if (verdict.kind === "not_a_trigger") {
    // Somebody's ordinary label: end without a word on the issue.
    return {
      next: { ...checked, triggerVerdict: "not_a_trigger", state: TaskState.cancelled, reason: verdict.reason },
      effects: [],
    };
  }
  // `/foreman retry` is a command: it needs write access, where a label needs triage.
  const retry = task.pipeline.origin?.kind === "retry";
  if (
    retry &&
    (verdict.kind === "refused" ? verdict.reason.code === ReasonCode.senderNotAllowed : !maySteerTask(verdict.sender))
  )
    return refuseRetry(checked, at);
  if (verdict.kind === "refused") {
    const state = verdict.reason.code === ReasonCode.senderNotAllowed ? TaskState.cancelled : TaskState.failed;
    return stop({ ...checked, triggerVerdict: "refused" }, state, verdict.reason, at);
  }
  const authorized: Task = { ...checked, triggerVerdict: "authorized", config: verdict.config, type: verdict.type };
  if (facts.repoRed === true && verdict.type !== "bugfix") {
    // Red mode: while the default branch's CI fails, only bug fixes start.
    const next: Task = {
      ...authorized,
      state: TaskState.waiting,
      reason: {
        code: ReasonCode.redMode,
        message: `CI on \`${task.repo.defaultBranch}\` is failing, so only bug-fix tasks start in this repository (red mode). This task starts by itself as soon as \`${task.repo.defaultBranch}\` is green again.`,
      },
    };
    return { next, effects: [statusComment] };
  }
  return beginWork(authorized, verdict.config);
}

/** Create the branch and draft PR — or, in shadow mode, only read the base to run on. */
export function beginWork(task: Task, config: TaskConfig): TransitionResult {
  const settings = withConfigDefaults(config);
  const pipeline = { ...task.pipeline, roles: resolvePipeline(settings, task.type) };
  if (settings.mode === "shadow") {
    return {
      next: { ...task, state: TaskState.preparing, pipeline },
      effects: [{ kind: EffectKind.resolveBase, baseBranch: task.repo.defaultBranch }],
    };
  }
  const branch = buildBranchName(config.branchPrefix, task.issueNumber, task.issueTitle);
  const next: Task = { ...task, state: TaskState.preparing, branch, pipeline };
  const pr = buildDraftPullRequest(next, config.freezeLabel);
  return {
    next,
    effects: [
      {
        kind: EffectKind.ensureBranch,
        branch,
        baseBranch: task.repo.defaultBranch,
        planMessage: buildPlanCommitMessage(task),
      },
      { kind: EffectKind.openDraftPr, branch, baseBranch: task.repo.defaultBranch, title: pr.title, body: pr.body },
    ],
  };
}

/**
 * A `/foreman retry` from someone without write access, after the issue's task ended: the fresh
 * task ends at once, and the sender gets one polite refusal (per issue); the status comment of the
 * task that ended stays as it was.
 */
function refuseRetry(task: Task, at: string): TransitionResult {
  const commentId = task.pipeline.origin?.kind === "retry" ? task.pipeline.origin.commentId : undefined;
  return {
    next: {
      ...task,
      triggerVerdict: "refused",
      state: TaskState.cancelled,
      reason: {
        code: ReasonCode.senderNotAllowed,
        message: `@${task.triggeredBy} may not run \`/foreman retry\` (write access is needed).`,
      },
      updatedAt: at,
    },
    effects: [
      {
        kind: EffectKind.answerCommand,
        issueNumber: task.issueNumber,
        answer: "refusal",
        login: task.triggeredBy,
        command: "retry",
        commentId,
        refusalScope: "issue",
      },
    ],
  };
}
