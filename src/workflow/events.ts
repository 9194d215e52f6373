import type { TriggerFacts } from "./authorize.js";
import type { JobFailureCode } from "./job-failure.js";
import type { RepoRole } from "./permissions.js";
import type { CiFailure, IssueSnapshot, TaskRepo } from "./task.js";

/** Every domain event the workflow understands. Webhook adapters and effect results produce these. */
export const EventType = Object.freeze({
  issueLabeled: "issue_labeled",
  issueUnlabeled: "issue_unlabeled",
  issueClosed: "issue_closed",
  issueReopened: "issue_reopened",
  pullRequestLabeled: "pull_request_labeled",
  pullRequestUnlabeled: "pull_request_unlabeled",
  pullRequestClosed: "pull_request_closed",
  triggerChecked: "trigger_checked",
  branchReady: "branch_ready",
  draftPrOpened: "draft_pr_opened",
  effectFailed: "effect_failed",
  jobStarted: "job_started",
  jobFinished: "job_finished",
  jobFailed: "job_failed",
  pullRequestSynchronized: "pull_request_synchronized",
  pullRequestReviewSubmitted: "pull_request_review_submitted",
  checkSuiteCompleted: "check_suite_completed",
  commitStatusReported: "commit_status_reported",
  ciResultCollected: "ci_result_collected",
  ciWaitExpired: "ci_wait_expired",
  commandReceived: "command_received",
  actorChecked: "actor_checked",
  repoTurnedGreen: "repo_turned_green",
  baseResolved: "base_resolved",
} as const);

/** An event type's value. */
export type EventType = (typeof EventType)[keyof typeof EventType];

/** The issue an event is about, as the webhook described it. */
export interface IssueRef {
  number: number;
  title: string;
  /** The issue's labels when the event happened (priority labels are read from them). */
  labels?: string[];
  /** The issue's text as the webhook carried it, on events that may start a task (a label, a reopening, a retry). */
  snapshot?: IssueSnapshot;
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
  | ({
      type: typeof EventType.pullRequestClosed;
      merged: boolean;
      mergeCommitSha: string | null;
    } & PullRequestEventBase)
  | ({
      type: typeof EventType.pullRequestSynchronized;
      headSha: string;
      /** The head the push replaced (GitHub's `before`), when the payload says. */
      before?: string;
      /** Set when the sender is Foreman's own app (`<slug>[bot]`): the push is Foreman's, recorded or not yet. */
      byForeman?: boolean;
    } & PullRequestEventBase)
  | ({
      type: typeof EventType.pullRequestReviewSubmitted;
      reviewId: number;
      state: "approved" | "changes_requested" | "commented" | "dismissed";
      body: string;
      commitId: string;
      senderIsBot: boolean;
    } & PullRequestEventBase)
  | {
      type: typeof EventType.checkSuiteCompleted;
      repo: TaskRepo;
      suiteId: number;
      headSha: string;
      headBranch: string | null;
      /** The slug of the app that ran the suite (github-actions, …). */
      app: string;
      /** The numeric id of that app (Foreman's own suites, its check runs', are not CI). */
      appId: number;
      conclusion: string;
      sender: string;
      /**
       * Whether the suite ran on the repository's own default branch, so it may decide red mode: the
       * branch's name, a push to this repository made it, and no pull request from another repository
       * (a fork's `main`) is its head (`isOwnDefaultBranchSuite`).
       */
      onDefaultBranch: boolean;
    }
  | {
      /** A commit status (Jenkins, Buildkite, …) was created or changed on a commit. */
      type: typeof EventType.commitStatusReported;
      repo: TaskRepo;
      sha: string;
      /** The task branch among the branches holding the commit, when a task owns one. */
      headBranch: string | null;
      context: string;
      state: "pending" | "success" | "failure" | "error";
      description: string | null;
      targetUrl: string | null;
      sender: string;
    }
  | ({
      type: typeof EventType.commandReceived;
      command: SlashCommand;
      commentId: number;
      onPullRequest: boolean;
      /**
       * Set only by Foreman (`start_retry_task`), never by a webhook: the ended task whose issue a
       * writer asked to retry, their write access already confirmed. Only such a retry starts a task.
       */
      authorizedRetryOf?: string;
    } & IssueEventBase)
  /** What `authorize_trigger` read (the config, the sender's role); the workflow judges it (`judgeTrigger`). */
  | ({ type: typeof EventType.triggerChecked } & TriggerFacts & TaskEventBase)
  | ({
      type: typeof EventType.branchReady;
      branch: string;
      baseSha: string;
      headSha: string;
      reused: boolean;
    } & TaskEventBase)
  | ({ type: typeof EventType.draftPrOpened; number: number; url: string; reused: boolean } & TaskEventBase)
  | ({ type: typeof EventType.effectFailed; effectKind: string; code: string; message: string } & TaskEventBase)
  | ({ type: typeof EventType.jobStarted; jobId: string; profile: string } & TaskEventBase)
  | ({
      type: typeof EventType.jobFinished;
      jobId: string;
      /** The commit the job worked on (a review is about this commit, even if a human pushed meanwhile). */
      baseSha?: string;
      commitSha: string | null;
      summary: string;
      usage: JobUsage;
      report: JobReport;
      /** What the egress proxy refused the job (`host:port`), named if the step comes to nothing. */
      egressRefused?: string[];
    } & TaskEventBase)
  | ({
      type: typeof EventType.jobFailed;
      jobId: string;
      code: JobFailureCode;
      message: string;
      logTail: string;
      usage: JobUsage;
      /** What the egress proxy refused the job (`host:port`); the message names them already. */
      egressRefused?: string[];
    } & TaskEventBase)
  | ({
      type: typeof EventType.ciResultCollected;
      sha: string;
      verdict: "success" | "failure" | "pending";
      failures: CiFailure[];
    } & TaskEventBase)
  | ({ type: typeof EventType.ciWaitExpired; sha: string } & TaskEventBase)
  /** The role of whoever gave a command or asked for changes; the workflow decides what it may do (`maySteerTask`). */
  | ({ type: typeof EventType.actorChecked; login: string; role: RepoRole; action: AuthorizedAction } & TaskEventBase)
  | ({ type: typeof EventType.repoTurnedGreen } & TaskEventBase)
  | ({ type: typeof EventType.baseResolved; sha: string } & TaskEventBase);

/** The comment commands Foreman understands (`/foreman <name>`). */
export type SlashCommand = "retry" | "stop" | "status" | "explain";

/** What a permission check was for: a comment command, or a human review asking for changes. */
export type AuthorizedAction =
  | {
      kind: "command";
      command: SlashCommand;
      commentId: number;
      /** A command given on the issue (not its PR): the issue as the comment's webhook carried it (a retry may start a task from it). */
      issue?: IssueRef;
    }
  | { kind: "review"; reviewId: number; body: string };

/** What a finished agent said beyond its summary: its verdict, a plan or PR body, a review. */
export interface JobReport {
  status: "success" | "needs_changes";
  body: string | null;
  review: { body: string; comments: Array<{ path: string; line: number; body: string }> } | null;
}

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
  if (event.type === EventType.actorChecked) return event.login;
  return "sender" in event ? event.sender : "foreman[app]";
}
