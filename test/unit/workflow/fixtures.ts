import { DEFAULT_TASK_CONFIG } from "../../../src/workflow/defaults.js";
import { EventType, type DomainEvent } from "../../../src/workflow/events.js";
import type { TaskState } from "../../../src/workflow/states.js";
import type { Task, TaskConfig } from "../../../src/workflow/task.js";

/** The repo of the unit fixtures. */
export const repo = { installationId: 1, id: 10, owner: "acme", name: "api", defaultBranch: "main" };
/** A fixed "now". */
export const now = new Date("2026-11-20T12:00:00.000Z");
/** What the engine would pass in. */
export const facts = { newTaskId: "task-new", newJobId: "job-new", knownTriggerLabels: [] as string[] };
/** A config snapshot. */
export const config: TaskConfig = { ...DEFAULT_TASK_CONFIG, prLabels: ["ai-generated"] };

/** A task in any state, with sensible fields for it. */
export function makeTask(state: TaskState, overrides: Partial<Task> = {}): Task {
  return {
    id: "task-1",
    repo,
    issueNumber: 5,
    issueTitle: "Fix the login redirect",
    type: "bugfix",
    triggerLabel: "agent:bugfix",
    triggeredBy: "alice",
    state,
    resumeState: null,
    frozenBy: null,
    frozenOn: null,
    config: state === "queued" ? null : config,
    branch: state === "queued" ? null : "agent/5-fix-the-login-redirect",
    baseSha: null,
    prNumber: ["awaiting_agent", "running", "awaiting_ci"].includes(state) ? 9 : null,
    headSha: ["preparing", "awaiting_agent", "running"].includes(state) ? "head-1" : null,
    prUrl: null,
    step: ["awaiting_agent", "running"].includes(state) ? "coder" : null,
    jobId: ["awaiting_agent", "running"].includes(state) ? "job-1" : null,
    usage: { agentMs: 0, tokens: 0, costUsd: 0 },
    reason: null,
    createdAt: "2026-11-20T11:00:00.000Z",
    updatedAt: "2026-11-20T11:00:00.000Z",
    ...overrides,
  };
}

const issue = { number: 5, title: "Fix the login redirect" };

/** One of each event, by a short name. */
export const events = {
  freezeOnIssue: { type: EventType.issueLabeled, repo, issue, sender: "bob", label: "needs-human-review" },
  otherIssueLabel: { type: EventType.issueLabeled, repo, issue, sender: "bob", label: "bug" },
  triggerAgain: { type: EventType.issueLabeled, repo, issue, sender: "bob", label: "agent:bugfix" },
  freezeOnPr: { type: EventType.pullRequestLabeled, repo, prNumber: 9, headRef: "agent/5-x", sender: "bob", label: "needs-human-review" },
  removeTrigger: { type: EventType.issueUnlabeled, repo, issue, sender: "bob", label: "agent:bugfix" },
  removeOtherLabel: { type: EventType.issueUnlabeled, repo, issue, sender: "bob", label: "bug" },
  unfreezeIssue: { type: EventType.issueUnlabeled, repo, issue, sender: "bob", label: "needs-human-review" },
  unfreezePr: { type: EventType.pullRequestUnlabeled, repo, prNumber: 9, headRef: "agent/5-x", sender: "bob", label: "needs-human-review" },
  reopened: { type: EventType.issueReopened, repo, issue, sender: "bob", labels: ["agent:bugfix"] },
  closed: { type: EventType.issueClosed, repo, issue, sender: "bob" },
  prMerged: { type: EventType.pullRequestClosed, repo, prNumber: 9, headRef: "agent/5-x", sender: "bob", merged: true },
  prClosed: { type: EventType.pullRequestClosed, repo, prNumber: 9, headRef: "agent/5-x", sender: "bob", merged: false },
  authorized: { type: EventType.triggerAuthorized, taskId: "task-1", config, permission: "write" },
  rejectedSender: { type: EventType.triggerRejected, taskId: "task-1", reason: { code: "SENDER_NOT_ALLOWED", message: "no" } },
  rejectedConfig: { type: EventType.triggerRejected, taskId: "task-1", reason: { code: "CONFIG_INVALID", message: "bad" } },
  rejectedNotTrigger: { type: EventType.triggerRejected, taskId: "task-1", reason: { code: "NOT_A_TRIGGER", message: "`bug` is not a trigger label in this repository." } },
  branchReady: { type: EventType.branchReady, taskId: "task-1", branch: "agent/5-fix-the-login-redirect", baseSha: "b", headSha: "h", reused: false },
  prOpened: { type: EventType.draftPrOpened, taskId: "task-1", number: 9, url: "https://github.com/acme/api/pull/9", reused: false },
  effectFailed: { type: EventType.effectFailed, taskId: "task-1", effectKind: "open_draft_pr", code: "GITHUB_REJECTED", message: "GitHub rejected it." },
  statusFailed: { type: EventType.effectFailed, taskId: "task-1", effectKind: "upsert_status_comment", code: "GITHUB_FORBIDDEN", message: "no" },
  jobStarted: { type: EventType.jobStarted, taskId: "task-1", jobId: "job-1", profile: "script" },
  jobFinished: { type: EventType.jobFinished, taskId: "task-1", jobId: "job-1", commitSha: "c0ffee", summary: "Fixed it.", usage: { durationMs: 1000, tokens: 10, costUsd: 0.01 } },
  jobFailed: { type: EventType.jobFailed, taskId: "task-1", jobId: "job-1", code: "AGENT_EXIT_NONZERO", message: "The agent exited with 1.", logTail: "boom", usage: { durationMs: 500, tokens: 0, costUsd: 0 } },
} satisfies Record<string, DomainEvent>;

/** An event's short name. */
export type EventName = keyof typeof events;
