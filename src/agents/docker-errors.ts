/**
 * Docker's answers as runner errors: what the Docker breaker counts as an outage (no HTTP
 * status), the HTTP status of a dockerode error, and the `RunnerError` a failed call becomes.
 * Shared by the Docker runner and its container removal (docker-reaper.ts).
 */
import { RUNNER_ERROR_CODES, RunnerError } from "./errors.js";

/**
 * What the Docker breaker counts: the daemon not answering (no HTTP status: refused, reset, missing
 * socket) and timeouts. An HTTP error is the daemon answering about one container or image.
 */
export function isDockerOutage(error: unknown): boolean {
  return statusOf(error) === undefined;
}

// A daemon call whose failure becomes a RunnerError naming what was being done.
export async function guard<T>(promise: Promise<T>, action: string): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    throw toRunnerError(error, action);
  }
}

/** A failed daemon call's code: no HTTP status means the daemon was not reached. */
export function runnerErrorCodeOf(error: unknown): RunnerError["code"] {
  return statusOf(error) === undefined
    ? RUNNER_ERROR_CODES.INFRA_DOCKER_UNAVAILABLE
    : RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED;
}

export function toRunnerError(error: unknown, action: string): RunnerError {
  if (error instanceof RunnerError) return error;
  const code = runnerErrorCodeOf(error);
  const hint =
    code === RUNNER_ERROR_CODES.INFRA_DOCKER_UNAVAILABLE
      ? " (is the Docker daemon running and reachable at DOCKER_HOST?)"
      : "";
  return new RunnerError(code, `Docker could not ${action} a job container${hint}: ${describe(error)}`, {
    cause: error,
  });
}

// Statuses that mean "already as asked" (stopped, gone) are no failure.
export function ignoreStatus(...statuses: number[]): (error: unknown) => void {
  return (error) => {
    if (!statuses.includes(statusOf(error) ?? -1)) throw toRunnerError(error, "change");
  };
}

export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === "number" ? status : undefined;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
