import { buildBranchName } from "./build-branch-name.js";
import { buildDraftPullRequest, buildPlanCommitMessage } from "./build-pull-request.js";
import { DEFAULT_TASK_CONFIG, isTriggerCandidate } from "./defaults.js";
import { EffectKind, type Effect } from "./effects.js";
import { EventType, type DomainEvent, type EventOf } from "./events.js";
import { TaskState, isTerminalState } from "./states.js";
import { ReasonCode, type Task, type TaskReason, type TaskType } from "./task.js";

/** What the engine knows that the workflow may use; the workflow itself reads no clock, id source or database. */
export interface TransitionFacts {
  /** The id to give a task this event creates. */
  newTaskId: string;
  /** The id to give an agent job this event dispatches. */
  newJobId: string;
  /** Trigger labels the repo's last-read config declared, beyond the `agent:` prefix. */
  knownTriggerLabels: readonly string[];
}

/** The outcome of one event: the task as it is now (null when none exists) and the effects to run, in order. */
export interface TransitionResult {
  next: Task | null;
  effects: Effect[];
}

const statusComment: Effect = Object.freeze({ kind: EffectKind.upsertStatusComment });

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

function unchanged(task: Task | null): TransitionResult {
  return { next: task, effects: [] };
}

function startTask(event: DomainEvent, now: Date, facts: TransitionFacts): TransitionResult {
  let label: string | undefined;
  if (event.type === EventType.issueLabeled) {
    label = isTriggerCandidate(event.label, facts.knownTriggerLabels) ? event.label : undefined;
  } else if (event.type === EventType.issueReopened) {
    // A reopened issue that still carries an agent label starts a fresh task.
    label = event.labels.find((name) => isTriggerCandidate(name, facts.knownTriggerLabels));
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

const CODER = "coder";

/** Queue an agent job for a step on the branch head (the runner starts it when a container slot is free). */
function dispatchStep(task: Task, role: string, facts: TransitionFacts): TransitionResult {
  const baseSha = task.headSha ?? task.baseSha;
  if (baseSha === null) return stop(task, TaskState.failed, { code: ReasonCode.internalError, message: "Foreman lost track of the branch head; start again." }, task.updatedAt);
  return {
    next: { ...task, state: TaskState.awaitingAgent, step: role, jobId: facts.newJobId },
    effects: [{ kind: EffectKind.dispatchAgentJob, jobId: facts.newJobId, role, baseSha }],
  };
}

function cancelJob(task: Task): Effect[] {
  return task.jobId !== null && (task.state === TaskState.awaitingAgent || task.state === TaskState.running)
    ? [{ kind: EffectKind.cancelAgentJob, jobId: task.jobId }]
    : [];
}

function addUsage(task: Task, usage: { durationMs: number; tokens: number; costUsd: number }): Task["usage"] {
  return { agentMs: task.usage.agentMs + usage.durationMs, tokens: task.usage.tokens + usage.tokens, costUsd: task.usage.costUsd + usage.costUsd };
}

/** The first budget a task has gone over, in words; null when within all of them. */
function findBudgetOverrun(task: Task): string | null {
  const budgets = task.config?.budgets;
  if (!budgets) return null;
  if (task.usage.agentMs > budgets.agentMinutes * 60_000) {
    return `Agents have worked ${Math.round(task.usage.agentMs / 60_000)} minutes on this task, over its budget of ${budgets.agentMinutes} minutes.`;
  }
  if (budgets.tokens !== null && task.usage.tokens > budgets.tokens) return `Agents used ${task.usage.tokens} tokens, over the task's budget of ${budgets.tokens}.`;
  if (budgets.costUsd !== null && task.usage.costUsd > budgets.costUsd) {
    return `Agents spent $${task.usage.costUsd.toFixed(2)}, over the task's budget of $${budgets.costUsd.toFixed(2)}.`;
  }
  return null;
}

const BUDGET_FIX = "Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.";

function onJobFinished(task: Task, event: EventOf<typeof EventType.jobFinished>, at: string): TransitionResult {
  if (event.jobId !== task.jobId || (task.state !== TaskState.running && task.state !== TaskState.awaitingAgent)) return unchanged(task);
  // The job is over: its id is cleared so a late duplicate of this event is recognised as stale.
  const spent: Task = { ...task, jobId: null, usage: addUsage(task, event.usage), updatedAt: at };
  const overrun = findBudgetOverrun(spent);
  if (event.commitSha === null) {
    return stop(spent, TaskState.failed, {
      code: ReasonCode.agentNoChanges,
      message: `The ${task.step ?? "agent"} step finished without changing anything. Its summary: ${event.summary}`,
    }, at);
  }
  const pushed: Task = { ...spent, headSha: event.commitSha };
  if (overrun) return stop(pushed, TaskState.failed, { code: ReasonCode.budgetExceeded, message: `${overrun} ${BUDGET_FIX}` }, at);
  return { next: { ...pushed, state: TaskState.awaitingCi, reason: null }, effects: [statusComment] };
}

const CONFIG_CODES = new Set(["PROFILE_UNKNOWN", "PROFILE_INVALID", "PROFILE_SECRET_MISSING", "PROFILE_SECRET_FORBIDDEN", "IMAGE_NOT_ALLOWED"]);

function onJobFailed(task: Task, event: EventOf<typeof EventType.jobFailed>, at: string, facts: TransitionFacts): TransitionResult {
  if (event.jobId !== task.jobId || (task.state !== TaskState.running && task.state !== TaskState.awaitingAgent)) return unchanged(task);
  const spent: Task = { ...task, jobId: null, usage: addUsage(task, event.usage), updatedAt: at };
  if (event.code === "AGENT_STOPPED") {
    // Stopped for a freeze: the step starts over on resume, on a fresh job.
    const again = dispatchStep(spent, task.step ?? CODER, facts);
    return { next: again.next, effects: again.effects };
  }
  const detail = event.logTail ? { detail: event.logTail } : {};
  if (event.code === "BUDGET_EXCEEDED") return stop(spent, TaskState.failed, { code: ReasonCode.budgetExceeded, message: `${event.message} ${BUDGET_FIX}` }, at);
  if (CONFIG_CODES.has(event.code)) return stop(spent, TaskState.failed, { code: ReasonCode.configError, message: event.message }, at);
  const failed = stop(spent, TaskState.failed, { code: ReasonCode.agentFailed, message: event.message, ...detail }, at);
  if (event.code === "GUARDRAIL_REJECTED" && task.prNumber !== null) {
    // A rejected diff is explained where the reviewers look: on the PR. Nothing was pushed.
    failed.effects.push({
      kind: EffectKind.postPullRequestComment,
      prNumber: task.prNumber,
      marker: `foreman:guardrails:${event.jobId}`,
      body: `### 🛑 Foreman did not push the ${task.step ?? "agent"} step's changes\n\n${event.message}\n\nNothing was pushed to this branch.`,
    });
  }
  return failed;
}

function onEffectFailed(task: Task, event: EventOf<typeof EventType.effectFailed>, at: string): TransitionResult {
  const reason: TaskReason = { code: event.code === "INTERNAL" ? ReasonCode.internalError : ReasonCode.githubError, message: event.message };
  const next: Task = { ...task, state: TaskState.failed, reason, updatedAt: at };
  // When the status comment itself cannot be written, asking for another one would only fail again.
  return { next, effects: [...(event.effectKind === EffectKind.upsertStatusComment ? [] : [statusComment]), ...cancelJob(task)] };
}

function stop(task: Task, state: TaskState, reason: TaskReason, at: string): TransitionResult {
  return { next: { ...task, state, reason, updatedAt: at }, effects: [statusComment, ...cancelJob(task)] };
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
