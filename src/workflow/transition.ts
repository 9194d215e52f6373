import { buildBranchName } from "./build-branch-name.js";
import { buildDraftPullRequest, buildPlanCommitMessage } from "./build-pull-request.js";
import { DEFAULT_TASK_CONFIG, isTriggerCandidate, resolvePipeline, withConfigDefaults } from "./defaults.js";
import { judgeTrigger } from "./authorize.js";
import { EffectKind, isInternalEffect, type Effect } from "./effects.js";
import { EventType, type DomainEvent, type EventOf } from "./events.js";
import { TaskState, isTerminalState } from "./states.js";
import { onJobFailed, onJobFinished, onJobStarted, startPipeline } from "./pipeline-transitions.js";
import { onCheckSuiteCompleted, onCiResultCollected, onCiWaitExpired } from "./ci-transitions.js";
import { onActorChecked, onCommandReceived, onReviewSubmitted, onSynchronized } from "./human-transitions.js";
import { maySteerTask } from "./permissions.js";
import {
  cancelJob,
  checkRun,
  display,
  statusComment,
  stop,
  unchanged,
  type TransitionResult,
} from "./transition-result.js";
import { emptyPipeline, ReasonCode, type Task, type TaskConfig, type TaskReason, type TaskType } from "./task.js";
import { isCandidate } from "./transition-result.js";

export type { TransitionResult } from "./transition-result.js";

/** What the engine knows that the workflow may use; the workflow itself reads no clock, id source or database. */
export interface TransitionFacts {
  /** The id to give a task this event creates. */
  newTaskId: string;
  /** The id to give an agent job this event dispatches. */
  newJobId: string;
  /** Trigger labels the repo's recently read config declared, beyond the `agent:` prefix; null when not read lately. */
  knownTriggerLabels: readonly string[] | null;
  /** Whether the latest completed check suite on the repo's default branch failed (red mode). */
  repoRed?: boolean;
  /** The trigger label of the issue's latest task, for `/foreman retry` after it ended. */
  previousTriggerLabel?: string | null;
}

/** Labels that set a task's place in the queue. */
const PRIORITY_LABELS: Readonly<Record<string, number>> = Object.freeze({ "priority:high": 1, "priority:low": -1 });

/** A task's priority from the issue's labels: the highest priority label wins. */
export function findPriority(labels: readonly string[] | undefined): number {
  const values = (labels ?? [])
    .map((label) => PRIORITY_LABELS[label])
    .filter((value): value is number => value !== undefined);
  return values.length === 0 ? 0 : Math.max(...values);
}

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

function startTask(event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  let label: string | undefined;
  if (event.type === EventType.issueLabeled) {
    label = isTriggerCandidate(event.label, facts.knownTriggerLabels) ? event.label : undefined;
  } else if (event.type === EventType.issueReopened) {
    // A reopened issue that still carries an agent label starts a fresh task (known labels only:
    // reopening an issue with unrelated labels must not read the config for each of them).
    label = event.labels.find((name) => isTriggerCandidate(name, facts.knownTriggerLabels ?? []));
  } else if (event.type === EventType.commandReceived && event.command === "retry" && !event.onPullRequest) {
    // `/foreman retry` on an issue whose task ended: a fresh task with the same label; authorisation checks the sender.
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
    case EventType.ciResultCollected:
      return onCiResultCollected(task, event, at, facts);
    case EventType.ciWaitExpired:
      return onCiWaitExpired(task, event, at);
    case EventType.pullRequestSynchronized:
      return onSynchronized(task, event, at);
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

/** The trigger check's facts are in: judge them (`judgeTrigger`), then start, wait for green, refuse, or end silently. */
function onTriggerChecked(
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
function beginWork(task: Task, config: TaskConfig): TransitionResult {
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

/**
 * A finished task changes no more, but it still answers `/foreman` commands about it (status,
 * explain; stop and retry say what applies), so a command on an ended task is never met with silence.
 */
function transitionEnded(task: Task, event: DomainEvent): TransitionResult {
  // A task whose label was never a trigger here is nobody's business: commands about it meet the silence an issue without a task does.
  if (task.triggerVerdict === "pending" || task.triggerVerdict === "not_a_trigger") return unchanged(task);
  if (event.type === EventType.commandReceived) return onCommandReceived(task, event);
  if (event.type !== EventType.actorChecked || event.action.kind !== "command") return unchanged(task);
  const { login, action } = event;
  const answer = (kind: "status" | "explain" | "refusal" | "note", text?: string): TransitionResult => ({
    next: task,
    effects: [
      {
        kind: EffectKind.answerCommand,
        issueNumber: task.issueNumber,
        answer: kind,
        login,
        command: action.command,
        commentId: action.commentId,
        ...(text ? { text } : {}),
      },
    ],
  });
  if (!maySteerTask(event.role)) return answer("refusal");
  switch (action.command) {
    case "status":
    case "explain":
      return answer(action.command);
    case "stop":
      return answer("note", `@${login}: this task has already ended (\`${task.state}\`); there is nothing to stop.`);
    case "retry":
      return answer(
        "note",
        `@${login}: this task has ended (\`${task.state}\`). Comment \`/foreman retry\` on issue #${task.issueNumber} to start a new one, or add the agent label again.`,
      );
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled event: ${JSON.stringify(value)}`);
}
