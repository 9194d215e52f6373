import { buildBranchName } from "./build-branch-name.js";
import { buildDraftPullRequest, buildPlanCommitMessage } from "./build-pull-request.js";
import { DEFAULT_TASK_CONFIG, isTriggerCandidate } from "./defaults.js";
import { EffectKind, type Effect } from "./effects.js";
import { EventType, type DomainEvent, type EventOf } from "./events.js";
import { TaskState, isTerminalState } from "./states.js";
import { CODER, dispatchStep, onJobFailed, onJobFinished } from "./agent-step-transitions.js";
import { cancelJob, statusComment, stop, unchanged, type TransitionResult } from "./transition-result.js";

export type { TransitionResult } from "./transition-result.js";
import { ReasonCode, type Task, type TaskReason, type TaskType } from "./task.js";

/** What the engine knows that the workflow may use; the workflow itself reads no clock, id source or database. */
export interface TransitionFacts {
  /** The id to give a task this event creates. */
  newTaskId: string;
  /** The id to give an agent job this event dispatches. */
  newJobId: string;
  /** Trigger labels the repo's recently read config declared, beyond the `agent:` prefix; null when not read lately. */
  knownTriggerLabels: readonly string[] | null;
}


/**
 * The task state machine: given a task (or null when the issue has none), an event and the time,
 * decide the next task and the effects to execute. Pure: no I/O, no clock, no randomness.
 */
export function transition(task: Task | null, event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  if (task === null) return startTask(event, now, facts);
  if (isTerminalState(task.state)) return unchanged(task);
  if (task.state === TaskState.frozen) return transitionFrozen(task, event, now, facts);
  return transitionActive(task, event, now, facts);
}


function startTask(event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  let label: string | undefined;
  if (event.type === EventType.issueLabeled) {
    label = isTriggerCandidate(event.label, facts.knownTriggerLabels) ? event.label : undefined;
  } else if (event.type === EventType.issueReopened) {
    // A reopened issue that still carries an agent label starts a fresh task (known labels only:
    // reopening an issue with unrelated labels must not read the config for each of them).
    label = event.labels.find((name) => isTriggerCandidate(name, facts.knownTriggerLabels ?? []));
  }
  if (label === undefined || (event.type !== EventType.issueLabeled && event.type !== EventType.issueReopened)) {
    return unchanged(null);
  }
  const at = now.toISOString();
  const task: Task = {
    id: facts.newTaskId,
    repo: event.repo,
    issueNumber: event.issue.number,
    issueTitle: event.issue.title,
    type: guessTaskType(label),
    triggerLabel: label,
    triggeredBy: event.sender,
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
      if (event.label !== freezeLabel) return unchanged(task);
      return {
        next: {
          ...task,
          state: TaskState.frozen,
          resumeState: task.state,
          frozenBy: event.sender,
          frozenOn: event.type === EventType.issueLabeled ? "issue" : "pull_request",
          updatedAt: at,
        },
        // A running container is stopped; a queued job simply waits (the runner skips frozen tasks).
        effects: [statusComment, ...(task.state === TaskState.running ? cancelJob(task) : [])],
      };
    case EventType.issueUnlabeled:
      if (event.label !== task.triggerLabel) return unchanged(task);
      return stop(task, TaskState.cancelled, {
        code: ReasonCode.labelRemoved,
        message: `@${event.sender} removed the \`${event.label}\` label, so Foreman stopped. The branch and any PR are left for you.`,
      }, at);
    case EventType.pullRequestUnlabeled:
    case EventType.issueReopened:
      return unchanged(task);
    case EventType.issueClosed:
      return stop(task, TaskState.cancelled, {
        code: ReasonCode.issueClosed,
        message: `@${event.sender} closed the issue, so Foreman stopped. The branch and any PR are left for you.`,
      }, at);
    case EventType.pullRequestClosed:
      return event.merged
        ? stop(task, TaskState.merged, { code: ReasonCode.prMerged, message: `@${event.sender} merged #${event.prNumber}.` }, at)
        : stop(task, TaskState.closed, {
            code: ReasonCode.prClosed,
            message: `@${event.sender} closed #${event.prNumber} without merging, so Foreman stopped.`,
          }, at);
    case EventType.triggerAuthorized:
      return onTriggerAuthorized(task, event, at);
    case EventType.triggerRejected:
      return onTriggerRejected(task, event, at);
    case EventType.branchReady:
      if (task.state !== TaskState.preparing) return unchanged(task);
      return {
        next: { ...task, branch: event.branch, baseSha: event.baseSha, headSha: event.headSha, updatedAt: at },
        effects: [],
      };
    case EventType.draftPrOpened:
      return onDraftPrOpened(task, event, at, facts);
    case EventType.effectFailed:
      return onEffectFailed(task, event, at);
    case EventType.jobStarted:
      if (task.state !== TaskState.awaitingAgent || event.jobId !== task.jobId) return unchanged(task);
      return { next: { ...task, state: TaskState.running, updatedAt: at }, effects: [statusComment] };
    case EventType.jobFinished:
      return onJobFinished(task, event, at);
    case EventType.jobFailed:
      return onJobFailed(task, event, at, facts);
    default:
      return assertNever(event);
  }
}

function onTriggerAuthorized(task: Task, event: EventOf<typeof EventType.triggerAuthorized>, at: string): TransitionResult {
  if (task.state !== TaskState.queued) return unchanged(task);
  const type = event.config.triggerLabels[task.triggerLabel];
  if (type === undefined) {
    // The label looked like a trigger (agent: prefix) but this repo's config does not list it: stay silent.
    return {
      next: {
        ...task,
        config: event.config,
        state: TaskState.cancelled,
        reason: { code: ReasonCode.notATrigger, message: `\`${task.triggerLabel}\` is not a trigger label in this repository.` },
        updatedAt: at,
      },
      effects: [],
    };
  }
  const branch = buildBranchName(event.config.branchPrefix, task.issueNumber, task.issueTitle);
  const next: Task = { ...task, config: event.config, type, state: TaskState.preparing, branch, updatedAt: at };
  const pr = buildDraftPullRequest(next, event.config.freezeLabel);
  return {
    next,
    effects: [
      { kind: EffectKind.ensureBranch, branch, baseBranch: task.repo.defaultBranch, planMessage: buildPlanCommitMessage(task) },
      { kind: EffectKind.openDraftPr, branch, baseBranch: task.repo.defaultBranch, title: pr.title, body: pr.body },
    ],
  };
}

function onTriggerRejected(task: Task, event: EventOf<typeof EventType.triggerRejected>, at: string): TransitionResult {
  if (task.state !== TaskState.queued) return unchanged(task);
  // Not a trigger here (someone's ordinary label): end without a word on the issue.
  if (event.reason.code === ReasonCode.notATrigger) return { next: { ...task, state: TaskState.cancelled, reason: event.reason, updatedAt: at }, effects: [] };
  const state = event.reason.code === ReasonCode.senderNotAllowed ? TaskState.cancelled : TaskState.failed;
  return stop(task, state, event.reason, at);
}

function onDraftPrOpened(task: Task, event: EventOf<typeof EventType.draftPrOpened>, at: string, facts: TransitionFacts): TransitionResult {
  if (task.state !== TaskState.preparing) return unchanged(task);
  const labels = task.config?.prLabels ?? [];
  const effects: Effect[] = labels.length > 0 ? [{ kind: EffectKind.addLabels, issueNumber: event.number, labels }] : [];
  const next: Task = { ...task, state: TaskState.awaitingAgent, prNumber: event.number, prUrl: event.url, updatedAt: at };
  // The first step: the coder works on the branch head the plan commit made.
  const dispatched = dispatchStep(next, CODER, facts);
  return { next: dispatched.next, effects: [...effects, statusComment, ...dispatched.effects] };
}

function onEffectFailed(task: Task, event: EventOf<typeof EventType.effectFailed>, at: string): TransitionResult {
  const reason: TaskReason = { code: event.code === "INTERNAL" ? ReasonCode.internalError : ReasonCode.githubError, message: event.message };
  const next: Task = { ...task, state: TaskState.failed, reason, updatedAt: at };
  // When the status comment itself cannot be written, asking for another one would only fail again.
  return { next, effects: [...(event.effectKind === EffectKind.upsertStatusComment ? [] : [statusComment]), ...cancelJob(task)] };
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
    return {
      next: { ...task, state: task.resumeState ?? TaskState.queued, resumeState: null, frozenBy: null, frozenOn: null, updatedAt: at },
      effects: [statusComment],
    };
  }
  if ((event.type === EventType.issueLabeled || event.type === EventType.pullRequestLabeled) && event.label === freezeLabel) {
    return unchanged(task);
  }
  const resumeState = task.resumeState ?? TaskState.queued;
  const asResumed: Task = { ...task, state: resumeState };
  const inner = transitionActive(asResumed, event, now, facts);
  if (inner.next === null || inner.next === asResumed) return unchanged(task);
  if (isTerminalState(inner.next.state)) {
    // The comment says "frozen"; whatever ends the task must replace that.
    const effects = inner.effects.some((effect) => effect.kind === EffectKind.upsertStatusComment) ? inner.effects : [...inner.effects, statusComment];
    return { next: { ...inner.next, resumeState: null }, effects };
  }
  if (inner.next.state === TaskState.frozen) return unchanged(task);
  return { next: { ...inner.next, state: TaskState.frozen, resumeState: inner.next.state }, effects: inner.effects };
}

function assertNever(value: never): never {
  throw new Error(`unhandled event: ${JSON.stringify(value)}`);
}
