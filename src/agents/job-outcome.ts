/**
 * What running one agent job can end in. The state machine maps these to events
 * (`job.succeeded`, `job.failed`, `job.timed_out`); every failure carries a message a user
 * can act on and the tail of the (redacted) log.
 */
import { JobFailureCode } from "../workflow/job-failure.js";
import type { AgentResult } from "./agent-result.js";
import type { FileChange } from "./changes.js";
import type { JobEgressFacts } from "./egress/egress-log.js";
import type { ExecutionLog } from "./execution-log.js";
import type { Violation } from "./guardrails.js";

/**
 * The failure codes the runner itself reports: a subset of the one closed set,
 * `JobFailureCode` (src/workflow/job-failure.ts), where every code is defined and classified.
 */
export const AGENT_JOB_FAILURE_CODES = Object.freeze({
  AGENT_TIMEOUT: JobFailureCode.agentTimeout,
  AGENT_OOM: JobFailureCode.agentOom,
  AGENT_EXIT_NONZERO: JobFailureCode.agentExitNonzero,
  AGENT_STOPPED: JobFailureCode.agentStopped,
  RESULT_MISSING: JobFailureCode.resultMissing,
  RESULT_INVALID: JobFailureCode.resultInvalid,
  GUARDRAIL_REJECTED: JobFailureCode.guardrailRejected,
  PROFILE_UNKNOWN: JobFailureCode.profileUnknown,
  PROFILE_INVALID: JobFailureCode.profileInvalid,
  PROFILE_SECRET_MISSING: JobFailureCode.profileSecretMissing,
  PROFILE_SECRET_FORBIDDEN: JobFailureCode.profileSecretForbidden,
  IMAGE_NOT_ALLOWED: JobFailureCode.imageNotAllowed,
  PROFILE_OVERRIDE_REFUSED: JobFailureCode.profileOverrideRefused,
  INFRA_WORKSPACE: JobFailureCode.infraWorkspace,
  INFRA_DOCKER_UNAVAILABLE: JobFailureCode.infraDockerUnavailable,
  INFRA_IMAGE_PULL_FAILED: JobFailureCode.infraImagePullFailed,
  INFRA_CONTAINER_FAILED: JobFailureCode.infraContainerFailed,
  INFRA_COLLECT_FAILED: JobFailureCode.infraCollectFailed,
  INFRA_CONTAINER_LOST: JobFailureCode.infraContainerLost,
  MODEL_API_UNAUTHORIZED: JobFailureCode.modelApiUnauthorized,
  MODEL_API_RATE_LIMITED: JobFailureCode.modelApiRateLimited,
  MODEL_API_UNAVAILABLE: JobFailureCode.modelApiUnavailable,
  MODEL_API_REJECTED: JobFailureCode.modelApiRejected,
} as const);

/** One of the job failure codes. */
export type AgentJobFailureCode = (typeof AGENT_JOB_FAILURE_CODES)[keyof typeof AGENT_JOB_FAILURE_CODES];

/** Facts about the run, present whenever a container was started. */
export interface JobRunFacts {
  readonly image: string;
  /** The image's content id (sha256:…) as the engine reported it; null when unknown. */
  readonly imageId?: string | null;
  readonly profile: string;
  readonly exitCode: number | null;
  readonly durationMs: number;
  /**
   * For `network: egress`: the policy, what the repository asked for in vain, and every connection
   * attempt through the proxy (host, port, verdict, bytes). Absent for `none` and `bridge`.
   */
  readonly egress?: JobEgressFacts;
}

/** The job ran and its diff passed the guardrails. `result.status` is the agent's own verdict. */
export interface AgentJobSucceeded {
  readonly kind: "succeeded";
  readonly result: AgentResult;
  readonly changes: readonly FileChange[];
  readonly baseCommit: string;
  readonly log: ExecutionLog;
  readonly run: JobRunFacts;
}

/** The job could not run, or ran and failed, or its diff was rejected. Nothing may be pushed. */
export interface AgentJobFailed {
  readonly kind: "failed";
  readonly code: AgentJobFailureCode;
  readonly message: string;
  /** Last lines of the redacted log ("" when no container ran). */
  readonly logTail: string;
  readonly log: ExecutionLog | null;
  readonly run: JobRunFacts | null;
  /** For GUARDRAIL_REJECTED: every broken rule, to explain on the PR. */
  readonly violations?: readonly Violation[];
  /** The agent's result when it wrote one (e.g. a rejected diff still has a summary). */
  readonly result?: AgentResult;
}

/** How one agent job ended. */
export type AgentJobOutcome = AgentJobSucceeded | AgentJobFailed;
