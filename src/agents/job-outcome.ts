/**
 * What running one agent job can end in. The state machine maps these to events
 * (`job.succeeded`, `job.failed`, `job.timed_out`); every failure carries a message a user
 * can act on and the tail of the (redacted) log.
 */
import type { AgentResult } from "./agent-result.js";
import type { FileChange } from "./changes.js";
import type { JobEgressFacts } from "./egress/egress-log.js";
import type { ExecutionLog } from "./execution-log.js";
import type { Violation } from "./guardrails.js";

/** Why a job failed. Closed set: add a code here before using it anywhere. */
export const AGENT_JOB_FAILURE_CODES = Object.freeze({
  AGENT_TIMEOUT: "AGENT_TIMEOUT",
  AGENT_OOM: "AGENT_OOM",
  AGENT_EXIT_NONZERO: "AGENT_EXIT_NONZERO",
  AGENT_STOPPED: "AGENT_STOPPED",
  RESULT_MISSING: "RESULT_MISSING",
  RESULT_INVALID: "RESULT_INVALID",
  GUARDRAIL_REJECTED: "GUARDRAIL_REJECTED",
  PROFILE_UNKNOWN: "PROFILE_UNKNOWN",
  PROFILE_INVALID: "PROFILE_INVALID",
  PROFILE_SECRET_MISSING: "PROFILE_SECRET_MISSING",
  PROFILE_SECRET_FORBIDDEN: "PROFILE_SECRET_FORBIDDEN",
  IMAGE_NOT_ALLOWED: "IMAGE_NOT_ALLOWED",
  INFRA_WORKSPACE: "INFRA_WORKSPACE",
  INFRA_DOCKER_UNAVAILABLE: "INFRA_DOCKER_UNAVAILABLE",
  INFRA_IMAGE_PULL_FAILED: "INFRA_IMAGE_PULL_FAILED",
  INFRA_CONTAINER_FAILED: "INFRA_CONTAINER_FAILED",
  INFRA_COLLECT_FAILED: "INFRA_COLLECT_FAILED",
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
