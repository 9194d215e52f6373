import type { TaskBudgets, TaskUsage } from "./task.js";

/**
 * Why an agent job failed: one closed set for the whole of Foreman. The runner's codes
 * (`src/agents/`), the engine's and the `job_failed` event's are all members of it, and each
 * code has one kind, which decides whose problem it is and whether it is worth another attempt.
 */
export const JobFailureCode = Object.freeze({
  // The agent itself: the issue author's problem (the description, the agent's limits).
  agentTimeout: "AGENT_TIMEOUT",
  agentOom: "AGENT_OOM",
  agentExitNonzero: "AGENT_EXIT_NONZERO",
  resultMissing: "RESULT_MISSING",
  resultInvalid: "RESULT_INVALID",
  agentReportedFailure: "AGENT_REPORTED_FAILURE",
  guardrailRejected: "GUARDRAIL_REJECTED",
  // Stopped on purpose: a freeze, the pause, or the task ended.
  agentStopped: "AGENT_STOPPED",
  // The agent settings: the repository's `.github/foreman.yml` or the operator's configuration.
  profileUnknown: "PROFILE_UNKNOWN",
  profileInvalid: "PROFILE_INVALID",
  profileSecretMissing: "PROFILE_SECRET_MISSING",
  profileSecretForbidden: "PROFILE_SECRET_FORBIDDEN",
  imageNotAllowed: "IMAGE_NOT_ALLOWED",
  /** A repository's profile override that the operator's REPO_PROFILE_OVERRIDES / REPO_PROFILE_SECRETS do not allow. */
  profileOverrideRefused: "PROFILE_OVERRIDE_REFUSED",
  promptTemplateInvalid: "PROMPT_TEMPLATE_INVALID",
  promptTemplateMissing: "PROMPT_TEMPLATE_MISSING",
  promptRenderFailed: "PROMPT_RENDER_FAILED",
  // The model API, as the CLI reported its answer: credentials and quotas are the operator's.
  modelApiUnauthorized: "MODEL_API_UNAUTHORIZED",
  modelApiRateLimited: "MODEL_API_RATE_LIMITED",
  modelApiUnavailable: "MODEL_API_UNAVAILABLE",
  modelApiRejected: "MODEL_API_REJECTED",
  // A budget the repository set.
  budgetExceeded: "BUDGET_EXCEEDED",
  // Foreman's own machinery: the operator's problem, and worth another attempt.
  infraWorkspace: "INFRA_WORKSPACE",
  infraDockerUnavailable: "INFRA_DOCKER_UNAVAILABLE",
  infraImagePullFailed: "INFRA_IMAGE_PULL_FAILED",
  infraContainerFailed: "INFRA_CONTAINER_FAILED",
  infraCollectFailed: "INFRA_COLLECT_FAILED",
  infraContainerLost: "INFRA_CONTAINER_LOST",
  infraGithub: "INFRA_GITHUB",
  pushFailed: "PUSH_FAILED",
  // The task's branch: moved by someone while the job ran, or gone.
  branchMoved: "BRANCH_MOVED",
  branchMissing: "BRANCH_MISSING",
} as const);

/** A job failure code's value. */
export type JobFailureCode = (typeof JobFailureCode)[keyof typeof JobFailureCode];

/** Whose problem a failure is, and so what the issue says and whether to try again. */
export type JobFailureKind = "agent" | "stopped" | "config" | "budget" | "infrastructure" | "branch";

const KINDS: Readonly<Record<JobFailureCode, JobFailureKind>> = Object.freeze({
  AGENT_TIMEOUT: "agent",
  AGENT_OOM: "agent",
  AGENT_EXIT_NONZERO: "agent",
  RESULT_MISSING: "agent",
  RESULT_INVALID: "agent",
  AGENT_REPORTED_FAILURE: "agent",
  GUARDRAIL_REJECTED: "agent",
  AGENT_STOPPED: "stopped",
  PROFILE_UNKNOWN: "config",
  PROFILE_INVALID: "config",
  PROFILE_SECRET_MISSING: "config",
  PROFILE_SECRET_FORBIDDEN: "config",
  IMAGE_NOT_ALLOWED: "config",
  PROFILE_OVERRIDE_REFUSED: "config",
  PROMPT_TEMPLATE_INVALID: "config",
  PROMPT_TEMPLATE_MISSING: "config",
  PROMPT_RENDER_FAILED: "config",
  // Credentials are not transient; a rate limit and an outage are (decideJobRetry).
  MODEL_API_UNAUTHORIZED: "infrastructure",
  MODEL_API_RATE_LIMITED: "infrastructure",
  MODEL_API_UNAVAILABLE: "infrastructure",
  // A request the API refuses (an unknown model, a malformed request): the agent settings.
  MODEL_API_REJECTED: "config",
  BUDGET_EXCEEDED: "budget",
  INFRA_WORKSPACE: "infrastructure",
  INFRA_DOCKER_UNAVAILABLE: "infrastructure",
  INFRA_IMAGE_PULL_FAILED: "infrastructure",
  INFRA_CONTAINER_FAILED: "infrastructure",
  INFRA_COLLECT_FAILED: "infrastructure",
  INFRA_CONTAINER_LOST: "infrastructure",
  INFRA_GITHUB: "infrastructure",
  PUSH_FAILED: "infrastructure",
  BRANCH_MOVED: "branch",
  BRANCH_MISSING: "branch",
});

/** The kind of a job failure code. */
export function classifyJobFailure(code: JobFailureCode): JobFailureKind {
  return KINDS[code];
}

/** Whether a string is one of the job failure codes (a stored row, a runner's report). */
export function isJobFailureCode(code: string): code is JobFailureCode {
  return Object.hasOwn(KINDS, code);
}

/** How a job that failed ended, as far as the retry decision needs to know. */
export interface JobFailureFacts {
  code: JobFailureCode;
  /** For an infrastructure failure: whether the cause is transient (a timeout, a 5xx); a permanent one is not retried. */
  transient: boolean;
  /** For `BRANCH_MOVED`: the branch head someone else pushed, to run the step again on. */
  newHeadSha?: string | null;
}

/** What to do with a failed job: run it again (on `baseSha`), or end it and tell the task. */
export type JobRetryDecision = { retry: true; baseSha: string } | { retry: false };

/**
 * The retry ladder of a job's end, in one place: Foreman's own transient trouble is tried again,
 * and so is a step whose branch a human moved (on top of their commit), while attempts remain;
 * everything else ends the job, and the task decides what it means (`onJobFailed`).
 */
export function decideJobRetry(
  failure: JobFailureFacts,
  job: { attempt: number; maxAttempts: number; baseSha: string },
): JobRetryDecision {
  if (job.attempt >= job.maxAttempts) return { retry: false };
  const kind = classifyJobFailure(failure.code);
  // A key the model API refuses stays refused until the operator changes it: trying again only spends time.
  if (failure.code === JobFailureCode.modelApiUnauthorized) return { retry: false };
  if (kind === "infrastructure" && failure.transient) return { retry: true, baseSha: job.baseSha };
  if (failure.code === JobFailureCode.branchMoved && failure.newHeadSha)
    return { retry: true, baseSha: failure.newHeadSha };
  return { retry: false };
}

/**
 * The first budget a task has gone over, in words; null when within all of them. Before a step
 * starts, a budget already spent in full leaves nothing for the step (`>=`); after a step, only
 * spending past the budget is over it (`>`). One function, so both checks share their edges.
 */
export function findBudgetOverrun(
  usage: TaskUsage,
  budgets: TaskBudgets | undefined,
  moment: "before_step" | "after_step",
): string | null {
  if (!budgets) return null;
  const before = moment === "before_step";
  const over = (spent: number, limit: number) => (before ? spent >= limit : spent > limit);
  if (over(usage.agentMs, budgets.agentMinutes * 60_000)) {
    const minutes = Math.round(usage.agentMs / 60_000);
    return before
      ? `Agents have already worked ${minutes} minutes on this task, its budget of ${budgets.agentMinutes} minutes.`
      : `Agents have worked ${minutes} minutes on this task, over its budget of ${budgets.agentMinutes} minutes.`;
  }
  if (budgets.tokens !== null && over(usage.tokens, budgets.tokens)) {
    return before
      ? `Agents have already used ${usage.tokens} tokens, the task's budget of ${budgets.tokens}.`
      : `Agents used ${usage.tokens} tokens, over the task's budget of ${budgets.tokens}.`;
  }
  if (budgets.costUsd !== null && over(usage.costUsd, budgets.costUsd)) {
    const spent = `$${usage.costUsd.toFixed(2)}`;
    const limit = `$${budgets.costUsd.toFixed(2)}`;
    return before
      ? `Agents have already spent ${spent}, the task's budget of ${limit}.`
      : `Agents spent ${spent}, over the task's budget of ${limit}.`;
  }
  return null;
}

/** At most this many refused destinations are named; the rest are counted. */
const MAX_NAMED_REFUSALS = 5;

/**
 * The sentence that names what the egress proxy refused a job (`host:port`, each once), for the
 * failure the issue shows: an agent that could not fetch a package or reach an API fails for that
 * reason more often than for its own. Empty when nothing was refused.
 */
export function describeRefusedEgress(destinations: readonly string[]): string {
  const distinct = [...new Set(destinations)];
  if (distinct.length === 0) return "";
  const named = distinct.slice(0, MAX_NAMED_REFUSALS).map((destination) => `\`${destination}\``);
  const more = distinct.length > MAX_NAMED_REFUSALS ? ` and ${distinct.length - MAX_NAMED_REFUSALS} more` : "";
  const them = distinct.length === 1 ? "it" : "them";
  return (
    `The agent tried to reach ${named.join(", ")}${more}, which its profile does not allow, and the egress proxy ` +
    `refused ${them}. If the agent needs ${them}, an operator can allow ${them} (AGENT_EGRESS_ALLOW, or the profile's \`egress\` list).`
  );
}
