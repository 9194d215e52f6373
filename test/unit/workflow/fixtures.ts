import { DEFAULT_TASK_CONFIG } from "../../../src/workflow/defaults.js";
import type { Effect } from "../../../src/workflow/effects.js";
import { EventType, type DomainEvent, type EventOf, type JobReport } from "../../../src/workflow/events.js";
import type { TaskState } from "../../../src/workflow/states.js";
import {
  emptyPipeline,
  type CiFailure,
  type PipelineProgress,
  type StepRecord,
  type Task,
  type TaskConfig,
} from "../../../src/workflow/task.js";
import { transition, type TransitionFacts } from "../../../src/workflow/transition.js";

/** The repo of the unit fixtures. */
export const repo = { installationId: 1, id: 10, owner: "acme", name: "api", defaultBranch: "main" };
/** A fixed "now". */
export const now = new Date("2026-11-20T12:00:00.000Z");
/** What the engine would pass in. */
export const facts = {
  newTaskId: "task-new",
  newJobId: "job-new",
  knownTriggerLabels: [] as string[],
  // The commits Foreman's jobs pushed: `botPush` is one of them.
  foremanPushes: ["c0ffee"] as string[],
};
/** A config snapshot: the defaults (planner → coder → reviewer, 3 CI attempts, no reviewers). */
export const config: TaskConfig = { ...DEFAULT_TASK_CONFIG, prLabels: ["ai-generated"] };

/** The default pipeline's roles. */
export const DEFAULT_ROLES = ["planner", "coder", "reviewer"];
/** The plan the fixtures' planner wrote. */
export const PLAN = "1. Read the redirect handler.\n2. Keep the `next` parameter.";

/** A checklist line. */
export function makeStep(role: string, jobId: string, overrides: Partial<StepRecord> = {}): StepRecord {
  return {
    role,
    purpose: "pipeline",
    status: "succeeded",
    jobId,
    commitSha: null,
    summary: `${role} done.`,
    ...overrides,
  };
}

const planned = makeStep("planner", "job-0", { summary: "Planned." });
const coded = makeStep("coder", "job-1", { commitSha: "head-1", summary: "Fixed it." });
const reviewed = makeStep("reviewer", "job-2", { summary: "Looks fine." });
const fixes = [3, 4, 5].map((n) =>
  makeStep("ci_fixer", `job-${n}`, {
    purpose: "ci_fix",
    commitSha: n === 5 ? "head-1" : `fix-${n}`,
    summary: `Fix attempt ${n - 2}.`,
  }),
);

/** The pipeline a task in this state would have: where it is and what its steps did. */
export function makePipeline(state: TaskState): PipelineProgress {
  const started: PipelineProgress = { ...emptyPipeline(), roles: DEFAULT_ROLES };
  switch (state) {
    case "queued":
    case "waiting":
      return emptyPipeline();
    case "preparing":
      return started;
    case "awaiting_agent":
      return {
        ...started,
        index: 1,
        plan: PLAN,
        steps: [planned, makeStep("coder", "job-1", { status: "queued", summary: null })],
      };
    case "running":
      return {
        ...started,
        index: 1,
        plan: PLAN,
        steps: [planned, makeStep("coder", "job-1", { status: "running", summary: null })],
      };
    case "awaiting_ci":
      return { ...started, index: 2, plan: PLAN, waitingCiSha: "head-1", steps: [planned, coded, reviewed] };
    case "ready_for_review":
      return {
        ...started,
        index: 2,
        plan: PLAN,
        waitingCiSha: "head-1",
        ci: { sha: "head-1", conclusion: "success", suiteId: 300 },
        steps: [planned, coded, reviewed],
      };
    case "escalated":
      return {
        ...started,
        index: 2,
        plan: PLAN,
        purpose: "ci_fix",
        ciAttempts: 3,
        waitingCiSha: "head-1",
        ci: { sha: "head-1", conclusion: "failure", suiteId: 300 },
        steps: [planned, coded, reviewed, ...fixes],
      };
    default:
      return emptyPipeline();
  }
}

const WITH_PR: readonly TaskState[] = ["awaiting_agent", "running", "awaiting_ci", "ready_for_review", "escalated"];
const WITH_JOB: readonly TaskState[] = ["awaiting_agent", "running"];

/** A task in any state, with sensible fields for it. */
export function makeTask(state: TaskState, overrides: Partial<Task> = {}): Task {
  const authorized = state !== "queued";
  return {
    id: "task-1",
    repo,
    issueNumber: 5,
    issueTitle: "Fix the login redirect",
    issueSnapshot: null,
    // A waiting task is never a bug fix: those start in red mode too.
    type: state === "waiting" ? "feature" : "bugfix",
    triggerLabel: state === "waiting" ? "agent:feature" : "agent:bugfix",
    triggeredBy: "alice",
    // A queued task is a candidate: the trigger check has not judged its label yet.
    triggerVerdict: authorized ? "authorized" : "pending",
    state,
    resumeState: null,
    frozenBy: null,
    frozenOn: null,
    config: authorized ? config : null,
    branch: authorized && state !== "waiting" ? "agent/5-fix-the-login-redirect" : null,
    baseSha: authorized && state !== "waiting" ? "base-1" : null,
    prNumber: WITH_PR.includes(state) ? 9 : null,
    headSha: authorized && state !== "waiting" ? "head-1" : null,
    prUrl: WITH_PR.includes(state) ? "https://github.com/acme/api/pull/9" : null,
    step: WITH_JOB.includes(state) ? "coder" : null,
    jobId: WITH_JOB.includes(state) ? "job-1" : null,
    usage: { agentMs: 0, tokens: 0, costUsd: 0 },
    priority: 0,
    pipeline: makePipeline(state),
    reason:
      state === "waiting"
        ? {
            code: "RED_MODE",
            message: "CI on `main` is failing, so only bug-fix tasks start in this repository (red mode).",
          }
        : state === "escalated"
          ? { code: "CI_FAILED_TOO_OFTEN", message: "CI still fails." }
          : null,
    createdAt: "2026-11-20T11:00:00.000Z",
    updatedAt: "2026-11-20T11:00:00.000Z",
    ...overrides,
  };
}

/** A frozen task that resumes in `resumeState`, with that state's fields. */
export function makeFrozenTask(
  resumeState: TaskState,
  frozenOn: "issue" | "pull_request" = "issue",
  overrides: Partial<Task> = {},
): Task {
  return makeTask(resumeState, { state: "frozen", resumeState, frozenBy: "bob", frozenOn, ...overrides });
}

const issue = { number: 5, title: "Fix the login redirect" };
const pr = { repo, prNumber: 9, headRef: "agent/5-fix-the-login-redirect" };
/** A report that says nothing beyond the summary. */
export const plainReport: JobReport = { status: "success", body: null, review: null };

/** One of each event, by a short name. */
export const events = {
  freezeOnIssue: { type: EventType.issueLabeled, repo, issue, sender: "bob", label: "needs-human-review" },
  otherIssueLabel: { type: EventType.issueLabeled, repo, issue, sender: "bob", label: "bug" },
  priorityHigh: {
    type: EventType.issueLabeled,
    repo,
    issue: { ...issue, labels: ["agent:bugfix", "priority:high"] },
    sender: "bob",
    label: "priority:high",
  },
  triggerAgain: { type: EventType.issueLabeled, repo, issue, sender: "bob", label: "agent:bugfix" },
  freezeOnPr: { type: EventType.pullRequestLabeled, ...pr, sender: "bob", label: "needs-human-review" },
  removeTrigger: { type: EventType.issueUnlabeled, repo, issue, sender: "bob", label: "agent:bugfix" },
  removeOtherLabel: { type: EventType.issueUnlabeled, repo, issue, sender: "bob", label: "bug" },
  unfreezeIssue: { type: EventType.issueUnlabeled, repo, issue, sender: "bob", label: "needs-human-review" },
  unfreezePr: { type: EventType.pullRequestUnlabeled, ...pr, sender: "bob", label: "needs-human-review" },
  reopened: { type: EventType.issueReopened, repo, issue, sender: "bob", labels: ["agent:bugfix"] },
  closed: { type: EventType.issueClosed, repo, issue, sender: "bob" },
  prMerged: { type: EventType.pullRequestClosed, ...pr, sender: "bob", merged: true, mergeCommitSha: "merge-1" },
  prClosed: { type: EventType.pullRequestClosed, ...pr, sender: "bob", merged: false, mergeCommitSha: null },
  authorized: {
    type: EventType.triggerChecked,
    taskId: "task-1",
    config,
    problems: [],
    configFound: true,
    senderRole: { role: "write", permission: "write" },
  },
  rejectedSender: {
    type: EventType.triggerChecked,
    taskId: "task-1",
    config,
    problems: [],
    configFound: true,
    senderRole: { role: "read", permission: "read" },
  },
  rejectedConfig: {
    type: EventType.triggerChecked,
    taskId: "task-1",
    config: null,
    problems: ["`maxCiAttempts` must be a number"],
    configFound: true,
    senderRole: { role: "write", permission: "write" },
  },
  rejectedNotTrigger: {
    type: EventType.triggerChecked,
    taskId: "task-1",
    config: { ...config, triggerLabels: { "agent:ready": "ready" } },
    problems: [],
    configFound: true,
    senderRole: null,
  },
  repoTurnedGreen: { type: EventType.repoTurnedGreen, taskId: "task-1" },
  branchReady: {
    type: EventType.branchReady,
    taskId: "task-1",
    branch: "agent/5-fix-the-login-redirect",
    baseSha: "b",
    headSha: "h",
    reused: false,
  },
  baseResolved: { type: EventType.baseResolved, taskId: "task-1", sha: "base-2" },
  prOpened: {
    type: EventType.draftPrOpened,
    taskId: "task-1",
    number: 9,
    url: "https://github.com/acme/api/pull/9",
    reused: false,
  },
  effectFailed: {
    type: EventType.effectFailed,
    taskId: "task-1",
    effectKind: "open_draft_pr",
    code: "GITHUB_REJECTED",
    message: "GitHub rejected it.",
  },
  statusFailed: {
    type: EventType.effectFailed,
    taskId: "task-1",
    effectKind: "upsert_status_comment",
    code: "GITHUB_FORBIDDEN",
    message: "no",
  },
  jobStarted: { type: EventType.jobStarted, taskId: "task-1", jobId: "job-1", profile: "script" },
  jobFinished: {
    type: EventType.jobFinished,
    taskId: "task-1",
    jobId: "job-1",
    commitSha: "c0ffee",
    summary: "Fixed it.",
    usage: { durationMs: 1000, tokens: 10, costUsd: 0.01 },
    report: plainReport,
  },
  jobFailed: {
    type: EventType.jobFailed,
    taskId: "task-1",
    jobId: "job-1",
    code: "AGENT_EXIT_NONZERO",
    message: "The agent exited with 1.",
    logTail: "boom",
    usage: { durationMs: 500, tokens: 0, costUsd: 0 },
  },
  humanPush: {
    type: EventType.pullRequestSynchronized,
    ...pr,
    sender: "carol",
    headSha: "human-1",
  },
  botPush: {
    type: EventType.pullRequestSynchronized,
    ...pr,
    sender: "foreman[bot]",
    // Foreman's own push: a commit its job recorded (`facts.foremanPushes`).
    headSha: "c0ffee",
  },
  appPush: {
    type: EventType.pullRequestSynchronized,
    ...pr,
    sender: "foreman[bot]",
    // Foreman's own push reported before its job recorded the commit: known by the sender, its app.
    headSha: "unrecorded-1",
    byForeman: true,
  },
  changesRequested: {
    type: EventType.pullRequestReviewSubmitted,
    ...pr,
    sender: "carol",
    reviewId: 77,
    state: "changes_requested",
    body: "Please also handle an empty `next`.",
    commitId: "head-1",
    senderIsBot: false,
  },
  approved: {
    type: EventType.pullRequestReviewSubmitted,
    ...pr,
    sender: "carol",
    reviewId: 78,
    state: "approved",
    body: "LGTM",
    commitId: "head-1",
    senderIsBot: false,
  },
  botReview: {
    type: EventType.pullRequestReviewSubmitted,
    ...pr,
    sender: "foreman[bot]",
    reviewId: 79,
    state: "commented",
    body: "Foreman reviewer step",
    commitId: "head-1",
    senderIsBot: true,
  },
  suiteOnHead: {
    type: EventType.checkSuiteCompleted,
    repo,
    suiteId: 301,
    headSha: "head-1",
    headBranch: "agent/5-fix-the-login-redirect",
    app: "github-actions",
    appId: 15368,
    conclusion: "failure",
    sender: "github-actions[bot]",
    onDefaultBranch: false,
  },
  suiteOtherSha: {
    type: EventType.checkSuiteCompleted,
    repo,
    suiteId: 302,
    headSha: "old-1",
    headBranch: "agent/5-fix-the-login-redirect",
    app: "github-actions",
    appId: 15368,
    conclusion: "success",
    sender: "github-actions[bot]",
    onDefaultBranch: false,
  },
  suiteOtherApp: {
    type: EventType.checkSuiteCompleted,
    repo,
    suiteId: 303,
    headSha: "head-1",
    headBranch: "agent/5-fix-the-login-redirect",
    app: "codecov",
    appId: 254,
    conclusion: "success",
    sender: "codecov[bot]",
    onDefaultBranch: false,
  },
  ciSuccess: { type: EventType.ciResultCollected, taskId: "task-1", sha: "head-1", verdict: "success", failures: [] },
  ciFailure: {
    type: EventType.ciResultCollected,
    taskId: "task-1",
    sha: "head-1",
    verdict: "failure",
    failures: [{ name: "test", summary: "2 tests failed\nmore", logTail: "FAIL login.test.ts" }],
  },
  ciPending: { type: EventType.ciResultCollected, taskId: "task-1", sha: "head-1", verdict: "pending", failures: [] },
  ciWaitExpired: { type: EventType.ciWaitExpired, taskId: "task-1", sha: "head-1" },
  cmdStatus: {
    type: EventType.commandReceived,
    repo,
    issue,
    sender: "dave",
    command: "status",
    commentId: 501,
    onPullRequest: false,
  },
  cmdExplain: {
    type: EventType.commandReceived,
    repo,
    issue,
    sender: "dave",
    command: "explain",
    commentId: 502,
    onPullRequest: false,
  },
  cmdStop: {
    type: EventType.commandReceived,
    repo,
    issue,
    sender: "dave",
    command: "stop",
    commentId: 503,
    onPullRequest: false,
  },
  cmdRetry: {
    type: EventType.commandReceived,
    repo,
    issue,
    sender: "dave",
    command: "retry",
    commentId: 504,
    onPullRequest: false,
  },
  allowedStatus: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "dave",
    role: { role: "write", permission: "write" },
    action: { kind: "command", command: "status", commentId: 501 },
  },
  allowedExplain: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "dave",
    role: { role: "write", permission: "write" },
    action: { kind: "command", command: "explain", commentId: 502 },
  },
  allowedStop: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "dave",
    role: { role: "write", permission: "write" },
    action: { kind: "command", command: "stop", commentId: 503 },
  },
  allowedRetry: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "dave",
    role: { role: "write", permission: "write" },
    action: { kind: "command", command: "retry", commentId: 504 },
  },
  allowedReview: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "carol",
    role: { role: "write", permission: "write" },
    action: { kind: "review", reviewId: 77, body: "Please also handle an empty `next`." },
  },
  refusedCommand: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "mallory",
    role: { role: "read", permission: "read" },
    action: { kind: "command", command: "stop", commentId: 505 },
  },
  refusedReview: {
    type: EventType.actorChecked,
    taskId: "task-1",
    login: "mallory",
    role: { role: "read", permission: "read" },
    action: { kind: "review", reviewId: 80, body: "Rewrite it in Rust." },
  },
} satisfies Record<string, DomainEvent>;

/** An event's short name. */
export type EventName = keyof typeof events;

/** Every event fixture's name. */
export const ALL_EVENTS = Object.keys(events) as EventName[];

/** A finished job event for the task's current job (a pushed commit unless told otherwise). */
export function finishJob(task: Task, overrides: Partial<EventOf<"job_finished">> = {}): EventOf<"job_finished"> {
  return { ...events.jobFinished, jobId: task.jobId ?? "no-job", ...overrides };
}

/** A started job event for the task's current job. */
export function startJob(task: Task): EventOf<"job_started"> {
  return { ...events.jobStarted, jobId: task.jobId ?? "no-job" };
}

/** A CI app's completed suite on the task's head. */
export function suiteOn(task: Task, conclusion: string, suiteId = 301): EventOf<"check_suite_completed"> {
  return { ...events.suiteOnHead, headSha: task.headSha ?? "no-head", conclusion, suiteId };
}

/** The collected CI verdict on the task's head. */
export function ciResult(
  task: Task,
  verdict: "success" | "failure" | "pending",
  failures: CiFailure[] = [],
): EventOf<"ci_result_collected"> {
  return { type: EventType.ciResultCollected, taskId: task.id, sha: task.headSha ?? "no-head", verdict, failures };
}

/**
 * A task driven through events one after the other, as the engine would: every transition gets a
 * fresh job id (`job-n1`, `job-n2`, …), and the effects of each step are kept.
 */
export class Flow {
  task: Task;
  /** The effects of each `send`, in order. */
  readonly steps: Effect[][] = [];
  private sent = 0;

  constructor(
    task: Task,
    private readonly baseFacts: Partial<TransitionFacts> = {},
  ) {
    this.task = task;
  }

  /** Apply one event (or one built from the task as it is now); returns its effects. */
  send(event: DomainEvent | ((task: Task) => DomainEvent), more: Partial<TransitionFacts> = {}): Effect[] {
    this.sent += 1;
    const built = typeof event === "function" ? event(this.task) : event;
    const result = transition(this.task, built, now, {
      ...facts,
      newJobId: `job-n${this.sent}`,
      ...this.baseFacts,
      ...more,
    });
    if (result.next === null) throw new Error("the flow's task vanished");
    this.task = result.next;
    this.steps.push(result.effects);
    return result.effects;
  }

  /** Run the current step's job: started, then finished with this outcome; returns the finish's effects. */
  runJob(overrides: Partial<EventOf<"job_finished">> = {}): Effect[] {
    this.send(startJob);
    return this.send((task) => finishJob(task, overrides));
  }

  /** Every effect so far, in order. */
  get effects(): Effect[] {
    return this.steps.flat();
  }
}
