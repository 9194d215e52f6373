/**
 * Error values of the agent-job machinery. Errors here are data, not exceptions: every
 * failure a user can cause or fix carries a code from a small closed set and a message in
 * plain English that names the problem and the fix. The codes are members of the one closed set,
 * `JobFailureCode` (src/workflow/job-failure.ts).
 */

import { JobFailureCode } from "../workflow/job-failure.js";

/** Codes for configuration problems found before any container starts. */
export const PROFILE_ERROR_CODES = Object.freeze({
  PROFILE_UNKNOWN: JobFailureCode.profileUnknown,
  PROFILE_INVALID: JobFailureCode.profileInvalid,
  PROFILE_SECRET_MISSING: JobFailureCode.profileSecretMissing,
  PROFILE_SECRET_FORBIDDEN: JobFailureCode.profileSecretForbidden,
  IMAGE_NOT_ALLOWED: JobFailureCode.imageNotAllowed,
  PROFILE_OVERRIDE_REFUSED: JobFailureCode.profileOverrideRefused,
} as const);

/** One of the configuration error codes. */
export type ProfileErrorCode = (typeof PROFILE_ERROR_CODES)[keyof typeof PROFILE_ERROR_CODES];

/** A configuration problem: which rule failed and what the operator or repo owner should do. */
export interface ProfileError {
  readonly code: ProfileErrorCode;
  readonly message: string;
}

/** A success-or-error value; used where failure is an expected outcome, not a bug. */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Wraps a value as a success. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** Wraps an error as a failure. */
export function err<E>(error: E): { readonly ok: false; readonly error: E } {
  return { ok: false, error };
}

/** Codes a runner uses when the container engine itself fails (not the agent). */
export const RUNNER_ERROR_CODES = Object.freeze({
  INFRA_DOCKER_UNAVAILABLE: JobFailureCode.infraDockerUnavailable,
  INFRA_IMAGE_PULL_FAILED: JobFailureCode.infraImagePullFailed,
  INFRA_CONTAINER_FAILED: JobFailureCode.infraContainerFailed,
} as const);

/** One of the runner error codes. */
export type RunnerErrorCode = (typeof RUNNER_ERROR_CODES)[keyof typeof RUNNER_ERROR_CODES];

/** Thrown by a runner when the engine fails; `cause` keeps the engine's own error. */
export class RunnerError extends Error {
  readonly code: RunnerErrorCode;

  constructor(code: RunnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RunnerError";
    this.code = code;
  }
}
