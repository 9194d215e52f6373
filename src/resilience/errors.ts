import { redactText } from "../logging/redact.js";

const MAX_DETAIL_LENGTH = 300;

/** The closed set of error codes Foreman reports. */
export const ErrorCode = Object.freeze({
  githubRateLimited: "GITHUB_RATE_LIMITED",
  githubUnavailable: "GITHUB_UNAVAILABLE",
  githubRejected: "GITHUB_REJECTED",
  githubForbidden: "GITHUB_FORBIDDEN",
  githubNotFound: "GITHUB_NOT_FOUND",
  circuitOpen: "CIRCUIT_OPEN",
  timeout: "TIMEOUT",
  internal: "INTERNAL",
} as const);

/** An error code's value. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What went wrong, whether trying again may help, and a sentence a user can read. */
export interface Failure {
  code: ErrorCode;
  retryable: boolean;
  message: string;
}

/** Thrown instead of calling a service whose circuit breaker is open: it kept failing just now. */
export class CircuitOpenError extends Error {
  readonly code = ErrorCode.circuitOpen;
  readonly retryable = true;

  constructor(
    /** The service the breaker protects, as users know it ("GitHub", "Docker"). */
    readonly service: string,
    /** How long until the breaker lets a trial call through (0: one is under way). */
    readonly retryAfterMs: number,
  ) {
    const next =
      retryAfterMs > 0 ? `it tries again in ${Math.ceil(retryAfterMs / 1000)} s` : "a trial call is under way";
    super(`${service} kept failing, so Foreman paused its calls to it; ${next}.`);
    this.name = "CircuitOpenError";
  }
}

/** Thrown when a call to GitHub or Docker took longer than its timeout. */
export class TimeoutError extends Error {
  readonly code = ErrorCode.timeout;
  readonly retryable = true;

  constructor(
    /** The service that did not answer ("GitHub", "Docker"). */
    readonly service: string,
    /** The call ("GET /repos/{owner}/{repo}", "create"). */
    readonly action: string,
    readonly timeoutMs: number,
  ) {
    super(`${service} did not answer within ${timeoutMs / 1000} s (${action}).`);
    this.name = "TimeoutError";
  }
}

interface HttpLikeError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: { message?: string } };
  request?: { method?: string; url?: string };
}

/** The one mapper from a thrown error to a Failure. */
export function classifyError(error: unknown): Failure {
  if (error instanceof CircuitOpenError || error instanceof TimeoutError)
    return { code: error.code, retryable: true, message: summarizeDetail(error.message) };
  const http = error as HttpLikeError;
  const status = typeof http?.status === "number" ? http.status : undefined;
  // Messages end up on issues: first line only, capped, and never a token.
  const detail = summarizeDetail(http?.response?.data?.message ?? http?.message ?? String(error));
  const what =
    http?.request?.method && http.request.url
      ? `${http.request.method} ${stripQuery(http.request.url)}`
      : "a GitHub request";
  if (status === undefined) {
    const network = /ECONN|ETIMEDOUT|EAI_AGAIN|socket|fetch failed|network/i.test(detail);
    return network
      ? { code: ErrorCode.githubUnavailable, retryable: true, message: `GitHub could not be reached (${detail}).` }
      : { code: ErrorCode.internal, retryable: false, message: `Foreman hit an internal error: ${detail}` };
  }
  const rateLimited =
    status === 429 ||
    (status === 403 && (http.response?.headers?.["x-ratelimit-remaining"] === "0" || /rate limit/i.test(detail)));
  if (rateLimited)
    return {
      code: ErrorCode.githubRateLimited,
      retryable: true,
      message: `GitHub's rate limit was reached during ${what}.`,
    };
  if (status >= 500)
    return {
      code: ErrorCode.githubUnavailable,
      retryable: true,
      message: `GitHub answered ${status} to ${what} (${detail}).`,
    };
  if (status === 401 || status === 403) {
    return {
      code: ErrorCode.githubForbidden,
      retryable: false,
      message: `GitHub refused ${what} (${status}: ${detail}); the app may lack a permission on this repository.`,
    };
  }
  if (status === 404)
    return {
      code: ErrorCode.githubNotFound,
      retryable: false,
      message: `GitHub could not find what ${what} asked for (404: ${detail}).`,
    };
  return {
    code: ErrorCode.githubRejected,
    retryable: false,
    message: `GitHub rejected ${what} (${status}: ${detail}).`,
  };
}

function summarizeDetail(text: string): string {
  const firstLine = redactText(text).split("\n")[0]!.trim();
  return firstLine.length > MAX_DETAIL_LENGTH ? `${firstLine.slice(0, MAX_DETAIL_LENGTH)}…` : firstLine;
}

function stripQuery(url: string): string {
  return url.replace(/\?.*$/, "").replace(/^https?:\/\/[^/]+/, "");
}

/**
 * Whether an error says the service is out of order rather than answering: network errors,
 * timeouts, 5xx and rate limits (429, 403 rate limit). Other 4xx (404, 422, …) are answers.
 * What a circuit breaker counts.
 */
export function isOutageError(error: unknown): boolean {
  const { code } = classifyError(error);
  return code === ErrorCode.githubUnavailable || code === ErrorCode.githubRateLimited || code === ErrorCode.timeout;
}

/** Full-jitter exponential backoff: a random delay in [0, min(cap, base·2^attempt)). */
export function computeBackoffMs(attempt: number, random: () => number, baseMs = 1000, capMs = 5 * 60_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
