import { TimeoutError } from "./errors.js";

/** What a timed call is, for the TimeoutError's message. */
export interface TimedCall {
  /** The service that should answer ("GitHub", "Docker"). */
  service: string;
  /** The call ("GET /repos/{owner}/{repo}", "create"). */
  action: string;
}

/**
 * Run `fn` with a signal that aborts after `timeoutMs`, and reject with a TimeoutError at that
 * moment even if `fn` ignores the signal. An aborted `parent` signal aborts `fn` too.
 */
export async function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  timeoutMs: number,
  call: TimedCall,
  parent?: AbortSignal,
): Promise<T> {
  const controller = new AbortController();
  const abortFromParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) abortFromParent();
  else parent?.addEventListener("abort", abortFromParent, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new TimeoutError(call.service, call.action, timeoutMs);
      reject(error);
      controller.abort(error);
    }, timeoutMs);
  });
  // A client may reject at once when aborted (with its own AbortError): the timeout is still the cause.
  const answer = new Promise<T>((resolve) => resolve(fn(controller.signal))).catch((error: unknown) => {
    throw controller.signal.reason instanceof TimeoutError ? controller.signal.reason : error;
  });
  try {
    return await Promise.race([answer, deadline]);
  } finally {
    clearTimeout(timer);
    parent?.removeEventListener("abort", abortFromParent);
  }
}
