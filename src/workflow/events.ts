import type { TaskReason, TaskConfig, TaskRepo } from "./task.js";

/** Every domain event the workflow understands. Webhook adapters and effect results produce these. */
export const EventType = Object.freeze({
  issueLabeled: "issue_labeled",
  issueUnlabeled: "issue_unlabeled",
  issueClosed: "issue_closed",
  issueReopened: "issue_reopened",
  pullRequestLabeled: "pull_request_labeled",
  pullRequestUnlabeled: "pull_request_unlabeled",
  pullRequestClosed: "pull_request_closed",
  triggerAuthorized: "trigger_authorized",
  triggerRejected: "trigger_rejected",
  branchReady: "branch_ready",
  draftPrOpened: "draft_pr_opened",
  effectFailed: "effect_failed",
  jobStarted: "job_started",
  jobFinished: "job_finished",
  jobFailed: "job_failed",
} as const);

/** An event type's value. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The issue an event is about, as the webhook described it. */
export interface IssueRef {
  number: number;
  title: string;
}

/** An event from GitHub about an issue. `sender` is the login of whoever acted. */
interface IssueEventBase {
  repo: TaskRepo;
  issue: IssueRef;
  sender: string;
}

/** An event from GitHub about a pull request. */
interface PullRequestEventBase {
  repo: TaskRepo;
  prNumber: number;
  headRef: string;
  sender: string;
}

/** An event produced by executing one of a task's effects. */
interface TaskEventBase {
  taskId: string;
}

/** The closed union of domain events. */
export type DomainEvent =
  | ({ type: typeof EventType.issueLabeled; label: string } & IssueEventBase)
  | ({ type: typeof EventType.issueUnlabeled; label: string } & IssueEventBase)
  | ({ type: typeof EventType.issueClosed } & IssueEventBase)
  | ({ type: typeof EventType.issueReopened; labels: string[] } & IssueEventBase)
  | ({ type: typeof EventType.pullRequestLabeled; label: string } & PullRequestEventBase)
  | ({ type: typeof EventType.pullRequestUnlabeled; label: string } & PullRequestEventBase)
  | ({ type: typeof EventType.pullRequestClosed; merged: boolean } & PullRequestEventBase)
  | ({ type: typeof EventType.triggerAuthorized; config: TaskConfig; permission: string } & TaskEventBase)
  | ({ type: typeof EventType.triggerRejected; reason: TaskReason } & TaskEventBase)
  | ({ type: typeof EventType.branchReady; branch: string; baseSha: string; headSha: string; reused: boolean } & TaskEventBase)
  | ({ type: typeof EventType.draftPrOpened; number: number; url: string; reused: boolean } & TaskEventBase)
  | ({ type: typeof EventType.effectFailed; effectKind: string; code: string; message: string } & TaskEventBase)
  | ({ type: typeof EventType.jobStarted; jobId: string; profile: string } & TaskEventBase)
  | ({ type: typeof EventType.jobFinished; jobId: string; commitSha: string | null; summary: string; usage: JobUsage } & TaskEventBase)
  | ({ type: typeof EventType.jobFailed; jobId: string; code: string; message: string; logTail: string; usage: JobUsage } & TaskEventBase);

/** What one agent job spent. */
export interface JobUsage {
  durationMs: number;
  tokens: number;
  costUsd: number;
}

/** Narrows a domain event by its type. */
export type EventOf<T extends EventType> = Extract<DomainEvent, { type: T }>;

/** Who caused an event: a GitHub login for webhook events, the app for effect results. */
export function findEventActor(event: DomainEvent): string {
  return "sender" in event ? event.sender : "foreman[app]";
}
