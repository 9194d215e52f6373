import type { TaskState } from "./states.js";

/** What kind of work a trigger label asks for; selects the task prompt later on. */
export const TaskType = Object.freeze({
  ready: "ready",
  bugfix: "bugfix",
  feature: "feature",
  refactor: "refactor",
  docs: "docs",
} as const);

/** A task type's value. */
export type TaskType = (typeof TaskType)[keyof typeof TaskType];

/** Why a task stopped or is waiting: a code for machines, a sentence for people, and evidence. */
export interface TaskReason {
  code: ReasonCode;
  message: string;
  /** Supporting text shown folded, such as the last lines of an agent's log. */
  detail?: string;
}

/** The closed set of reasons shown on the issue. */
export const ReasonCode = Object.freeze({
  senderNotAllowed: "SENDER_NOT_ALLOWED",
  configInvalid: "CONFIG_INVALID",
  notATrigger: "NOT_A_TRIGGER",
  issueClosed: "ISSUE_CLOSED",
  labelRemoved: "AGENT_LABEL_REMOVED",
  githubError: "GITHUB_ERROR",
  internalError: "INTERNAL_ERROR",
  prClosed: "PR_CLOSED",
  prMerged: "PR_MERGED",
  agentFailed: "AGENT_FAILED",
  agentNoChanges: "AGENT_NO_CHANGES",
  budgetExceeded: "BUDGET_EXCEEDED",
  configError: "AGENT_CONFIG_ERROR",
  infrastructureError: "INFRASTRUCTURE_ERROR",
  redMode: "RED_MODE",
  ciFailedTooOften: "CI_FAILED_TOO_OFTEN",
  stoppedByCommand: "STOPPED_BY_COMMAND",
  noCi: "NO_CI",
  /** A GitHub write that does not stop the task failed (the check run, reviewers): said, and the task goes on. */
  sideWriteFailed: "SIDE_WRITE_FAILED",
} as const);

/** A reason code's value. */
export type ReasonCode = (typeof ReasonCode)[keyof typeof ReasonCode];

/** The repository a task belongs to, as the webhook described it. */
export interface TaskRepo {
  installationId: number;
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
}

/** The repo settings a task runs with: the parsed `.github/foreman.yml`, snapshotted at authorisation. */
export interface TaskConfig {
  triggerLabels: Record<string, TaskType>;
  freezeLabel: string;
  branchPrefix: string;
  prLabels: string[];
  /** The agent profile steps use (the operator's default when the repo names none). */
  agent: string | null;
  /** Repo-defined or overridden agent profiles, validated by the agent runner. */
  profiles: Record<string, unknown>;
  /** Tightening of the diff guardrails (the runner merges them with the operator's). */
  guardrails: Record<string, unknown>;
  budgets: TaskBudgets;
  /** `normal` opens a PR and pushes; `shadow` runs the agents and only reports in the status comment. */
  mode: "normal" | "shadow";
  /** The steps a task runs, by task type (`default` for the others). */
  pipeline: Partial<Record<TaskType | "default", string[]>>;
  /** Per-role settings, such as the agent profile a role uses. */
  roles: Record<string, { agent?: string }>;
  /** Revision steps a reviewer agent's "needs changes" may cause per task. */
  maxReviewRevisions: number;
  /** `ci_fixer` steps per task before Foreman escalates to a human. */
  maxCiAttempts: number;
  ci: TaskCiConfig;
  /** Who is asked to review when the PR is ready. */
  reviewers: { users: string[]; teams: string[] };
  /** What reaches the agent's prompt; a config stored before this key existed has none (the defaults apply). */
  prompt?: TaskPromptConfig;
}

/** What the agent is shown of the issue's thread. */
export interface TaskPromptConfig {
  /**
   * Comments by people the repository did not let in (`judgeCommentAssociation`): `quote` shows
   * them fenced and labelled as untrusted, `omit` leaves them out and says how many.
   */
  untrustedComments: "quote" | "omit";
}

/** How Foreman reads CI on the task's PR. */
export interface TaskCiConfig {
  /** Slugs of the apps whose check suites count as CI (others are recorded, not acted on). */
  apps: string[];
  /** How long to wait for a check suite on a new head before deciding the repo has no CI. */
  waitMinutes: number;
  /** Without CI: keep waiting, or mark the PR ready with a note. */
  whenMissing: "wait" | "ready";
  /** Commit status contexts that count as CI (globs, `*` any run of characters): Jenkins, Buildkite, … */
  statuses: string[];
  /**
   * When the base branch requires checks (rulesets, branch protection), only those decide: green
   * when each passed on the head, red as soon as one failed. `false`: every counted suite and status.
   */
  requiredOnly: boolean;
}

/** How much agent work a task may spend; exceeding one stops the task and says so. */
export interface TaskBudgets {
  agentMinutes: number;
  tokens: number | null;
  costUsd: number | null;
}

/** What a task has spent so far. */
export interface TaskUsage {
  agentMs: number;
  tokens: number;
  costUsd: number;
}

/**
 * What the trigger check said of a task's label. `pending`: not checked yet — the task is a
 * candidate, and a candidate never writes to GitHub (it may be anybody's `bug` label). `not_a_trigger`:
 * the config does not list it; the task ended without a word. `refused`: a trigger, but the sender
 * may not start Foreman or the config is invalid; said once on the issue. `authorized`: the task started.
 */
export type TriggerVerdict = "pending" | "not_a_trigger" | "refused" | "authorized";

/**
 * The issue's text as it was when its task was started and authorised: what the person who added
 * the label (or asked to retry) looked at. Agents are shown this text, not a later edit.
 */
export interface IssueSnapshot {
  title: string;
  body: string;
  /** GitHub's `updated_at` of the issue at that moment (ISO 8601). */
  updatedAt: string;
}

/** One attempt to resolve one issue. Plain data: the workflow reads and returns it, the engine stores it. */
export interface Task {
  id: string;
  repo: TaskRepo;
  issueNumber: number;
  issueTitle: string;
  /** The issue's title and body when the task started (null for a task stored before snapshots, or started without one). */
  issueSnapshot: IssueSnapshot | null;
  type: TaskType;
  triggerLabel: string;
  triggeredBy: string;
  /** What the trigger check said; only an `authorized` task acts, only a `pending` or `not_a_trigger` one is always silent. */
  triggerVerdict: TriggerVerdict;
  state: TaskState;
  /** Where a frozen task resumes. */
  resumeState: TaskState | null;
  frozenBy: string | null;
  /** Where the freeze label was put: on the issue or on the PR. */
  frozenOn: "issue" | "pull_request" | null;
  config: TaskConfig | null;
  branch: string | null;
  baseSha: string | null;
  headSha: string | null;
  prNumber: number | null;
  prUrl: string | null;
  /** The agent step (a role such as coder) and its current job. */
  step: string | null;
  jobId: string | null;
  usage: TaskUsage;
  /** Higher runs first (`priority:high` 1, `priority:low` -1). */
  priority: number;
  /** Where the task is in its pipeline of role steps, and what its steps said. */
  pipeline: PipelineProgress;
  reason: TaskReason | null;
  createdAt: string;
  updatedAt: string;
}

/** Why a step runs: its place in the pipeline, or a revision another event asked for. */
export type StepPurpose = "pipeline" | "review_revision" | "ci_fix" | "human_revision";

/** One step's line in the checklist (status comment and check run). */
export interface StepRecord {
  role: string;
  purpose: StepPurpose;
  status: "queued" | "running" | "succeeded" | "failed" | "stopped";
  jobId: string;
  /** The commit the step pushed, when it changed code. */
  commitSha: string | null;
  /** The agent's own one-line summary, capped. */
  summary: string | null;
  /** Shadow mode: what the step would have changed, or its plan or review (capped), for the status comment. */
  detail?: string | null;
}

/** A failing check the `ci_fixer` is told about. */
export interface CiFailure {
  name: string;
  summary: string;
  logTail: string;
  /** A check run (its output, annotations, log) or a commit status (only a description and a link). */
  source?: "check_run" | "status";
}

/** What the next step must act on. */
export type StepFeedback =
  | {
      kind: "review";
      author: string;
      body: string;
      comments: Array<{ path?: string; line?: number; body: string }>;
      reviewId: number | null;
    }
  | { kind: "ci"; sha: string; failures: CiFailure[] };

/** The pipeline's progress, stored with the task. */
export interface PipelineProgress {
  /** The roles of this task's pipeline, in order. */
  roles: string[];
  /** The pipeline step now running (or last run). */
  index: number;
  purpose: StepPurpose;
  /** The planner's plan, given to every later step. */
  plan: string | null;
  feedback: StepFeedback | null;
  reviewRevisions: number;
  ciAttempts: number;
  humanRevisions: number;
  /** CI seen on the head SHA: the latest suite of a CI app that completed on it. */
  ci: { sha: string; conclusion: "success" | "failure"; suiteId: number | null } | null;
  /** The empty plan commit the branch started with: until the head moves past it there is no work to check. */
  planSha?: string | null;
  /** The head SHA whose CI the task waits for (a missing-CI timer names it). */
  waitingCiSha: string | null;
  /** A human review that asked for changes while a step ran: the revision runs when the step is done. */
  pendingFeedback: StepFeedback | null;
  /** How the task started: an agent label, or `/foreman retry` after the issue's previous task ended. */
  origin?: { kind: "label" } | { kind: "retry"; commentId: number };
  /** On an ended task: the writer whose `/foreman retry` started its successor (one successor at most). */
  retriedBy?: { login: string; commentId: number } | null;
  /** The running job a freeze already stopped (its end is still to come): never stopped twice. */
  stoppedJobId?: string | null;
  /**
   * Others' pushes seen while the current step ran, each from the head it replaced (`before`): the
   * step's end follows them from its own commit, so a push on top of that commit is not overtaken.
   */
  pushesDuringStep?: Array<{ before: string; after: string }>;
  steps: StepRecord[];
}

/** A pipeline that has not started. */
export function emptyPipeline(): PipelineProgress {
  return {
    roles: [],
    index: 0,
    purpose: "pipeline",
    plan: null,
    feedback: null,
    reviewRevisions: 0,
    ciAttempts: 0,
    humanRevisions: 0,
    ci: null,
    waitingCiSha: null,
    pendingFeedback: null,
    steps: [],
  };
}
