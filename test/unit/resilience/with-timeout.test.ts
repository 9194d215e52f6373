import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { classifyError, isOutageError, TimeoutError } from "../../../src/resilience/errors.js";
import { withTimeout } from "../../../src/resilience/with-timeout.js";

const call = { service: "GitHub", action: "GET /repos/{owner}/{repo}" };

describe("withTimeout", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("a call that never answers fails with TIMEOUT at the deadline, and its signal is aborted", async () => {
    let seen: AbortSignal | undefined;
    const pending = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise<never>(() => {});
      },
      30_000,
      call,
    );
    const outcome = pending.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(seen?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(seen?.reason).toBe(error);
    expect(classifyError(error)).toEqual({
      code: "TIMEOUT",
      retryable: true,
      message: "GitHub did not answer within 30 s (GET /repos/{owner}/{repo}).",
    });
    expect(isOutageError(error)).toBe(true);
  });

  test("an answer in time is returned and the timer is cleared", async () => {
    await expect(withTimeout(async () => "answer", 30_000, call)).resolves.toBe("answer");
    expect(vi.getTimerCount()).toBe(0);
  });

  test("a failure in time is the call's own", async () => {
    await expect(withTimeout(async () => Promise.reject(new Error("boom")), 30_000, call)).rejects.toThrow("boom");
    expect(vi.getTimerCount()).toBe(0);
  });

  test("the caller's signal aborts the call too", async () => {
    const parent = new AbortController();
    let seen: AbortSignal | undefined;
    const pending = withTimeout(
      (signal) => {
        seen = signal;
        return new Promise<string>((_, reject) => signal.addEventListener("abort", () => reject(new Error("aborted"))));
      },
      30_000,
      call,
      parent.signal,
    );
    parent.abort();
    await expect(pending).rejects.toThrow("aborted");
    expect(seen?.aborted).toBe(true);
  });
});
