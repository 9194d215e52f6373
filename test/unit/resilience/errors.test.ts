import { describe, expect, test } from "vitest";
import { classifyError, computeBackoffMs } from "../../../src/resilience/errors.js";

const request = { method: "POST", url: "https://api.github.com/repos/acme/api/pulls?x=1" };

describe("classifyError", () => {
  test.each([
    [{ status: 502, message: "Bad Gateway", request }, "GITHUB_UNAVAILABLE", true],
    [{ status: 429, message: "slow down", request }, "GITHUB_RATE_LIMITED", true],
    [{ status: 403, message: "You have exceeded a secondary rate limit", request }, "GITHUB_RATE_LIMITED", true],
    [{ status: 403, message: "Resource not accessible by integration", request }, "GITHUB_FORBIDDEN", false],
    [{ status: 404, message: "Not Found", request }, "GITHUB_NOT_FOUND", false],
    [{ status: 422, message: "Validation Failed", request }, "GITHUB_REJECTED", false],
    [new Error("connect ECONNREFUSED 1.2.3.4:443"), "GITHUB_UNAVAILABLE", true],
    [new TypeError("x is undefined"), "INTERNAL", false],
  ])("%o → %s (retryable %s)", (error, code, retryable) => {
    expect(classifyError(error)).toMatchObject({ code, retryable });
  });

  test("the message names the request, without host or query", () => {
    expect(classifyError({ status: 422, message: "Validation Failed", request }).message).toBe(
      "GitHub rejected POST /repos/acme/api/pulls (422: Validation Failed).",
    );
  });

  test("messages that reach issues are one line, capped, and carry no token", () => {
    const { message } = classifyError({
      status: 500,
      message: `boom ghs_abc123XYZ\n"authorization": "token ghp_secret"\n${"x".repeat(1000)}`,
      request,
    });
    expect(message).toBe("GitHub answered 500 to POST /repos/acme/api/pulls (boom ghs_[REDACTED]).");
    expect(classifyError(new Error("y".repeat(1000))).message.length).toBeLessThan(400);
  });
});

describe("computeBackoffMs (full jitter)", () => {
  test("stays below base·2^(attempt-1), capped", () => {
    expect(computeBackoffMs(1, () => 0.999, 1000)).toBe(999);
    expect(computeBackoffMs(3, () => 0.5, 1000)).toBe(2000);
    expect(computeBackoffMs(30, () => 0.999, 1000, 60_000)).toBe(59_940);
    expect(computeBackoffMs(4, () => 0, 1000)).toBe(0);
  });
});
