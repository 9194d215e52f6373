/**
 * The small rules the Kubernetes runner applies to API answers: how a Job's end reads, look before
 * create (409 adopted), 404 as "gone", and API errors as runner errors.
 */
import type { V1Job } from "@kubernetes/client-node";
import { RUNNER_ERROR_CODES, RunnerError } from "../errors.js";

// A Job ends with a true Complete or Failed condition; its reason tells a deadline from an exit.
/** How a Job ended (`Complete`, `Failed`, `DeadlineExceeded`), or null while it runs. */
export function findEnd(job: V1Job): string | null {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== "True") continue;
    if (condition.type === "Complete") return "Complete";
    if (condition.type === "Failed") return condition.reason === "DeadlineExceeded" ? "DeadlineExceeded" : "Failed";
  }
  return null;
}

/** Look before create: an object that exists (or appears between the two calls, 409) is adopted. */
export async function adopt<T>(read: () => Promise<T>, create: () => Promise<T>): Promise<void> {
  if ((await orNull(read)) !== null) return;
  await orConflict(create);
}

/** The call's answer, or null on 404 (gone, as asked). */
export async function orNull<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

/** The call's answer, or "conflict" on 409 (it exists already). */
export async function orConflict<T>(fn: () => Promise<T>): Promise<T | "conflict"> {
  try {
    return await fn();
  } catch (error) {
    if (statusOf(error) === 409) return "conflict";
    throw error;
  }
}

/** An API failure as a runner error: unreachable (no status) or refused (an HTTP status). */
export function toRunnerError(error: unknown, action: string): RunnerError {
  if (error instanceof RunnerError) return error;
  const status = statusOf(error);
  const message = error instanceof Error ? error.message : String(error);
  return status === undefined
    ? new RunnerError(
        RUNNER_ERROR_CODES.INFRA_DOCKER_UNAVAILABLE,
        `The Kubernetes API could not be reached to ${action} a job (check KUBERNETES_NAMESPACE and the cluster credentials): ${message}`,
        { cause: error },
      )
    : new RunnerError(
        RUNNER_ERROR_CODES.INFRA_CONTAINER_FAILED,
        `Kubernetes could not ${action} a job (HTTP ${status}): ${message}`,
        {
          cause: error,
        },
      );
}

function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
