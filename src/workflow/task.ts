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

/** One attempt to resolve one issue. Plain data: the workflow reads and returns it, the engine stores it. */
export interface Task {
  id: string;
  repo: TaskRepo;
  issueNumber: number;
  issueTitle: string;
  type: TaskType;
  triggerLabel: string;
  triggeredBy: string;
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
  reason: TaskReason | null;
  createdAt: string;
  updatedAt: string;
}
