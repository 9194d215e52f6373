import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  classifyJobFailure,
  decideJobRetry,
  findBudgetOverrun,
  isJobFailureCode,
  JobFailureCode,
  type JobFailureKind,
} from "../../../src/workflow/job-failure.js";
import { AGENT_JOB_FAILURE_CODES } from "../../../src/agents/job-outcome.js";
import { PROFILE_ERROR_CODES, RUNNER_ERROR_CODES } from "../../../src/agents/errors.js";

const CODES = Object.values(JobFailureCode);
const job = (attempt: number, maxAttempts = 3) => ({ attempt, maxAttempts, baseSha: "base-1" });

describe("job failure codes: one closed set", () => {
  test("every code the runner, the profile checks and the container engine report is a member", () => {
    for (const code of [
      ...Object.values(AGENT_JOB_FAILURE_CODES),
      ...Object.values(PROFILE_ERROR_CODES),
      ...Object.values(RUNNER_ERROR_CODES),
    ]) {
      expect(isJobFailureCode(code)).toBe(true);
    }
    expect(isJobFailureCode("SOMETHING_ELSE")).toBe(false);
  });

  test.each([
    ["AGENT_EXIT_NONZERO", "agent"],
    ["GUARDRAIL_REJECTED", "agent"],
    ["AGENT_REPORTED_FAILURE", "agent"],
    ["AGENT_STOPPED", "stopped"],
    ["PROFILE_SECRET_MISSING", "config"],
    ["PROMPT_TEMPLATE_INVALID", "config"],
    ["BUDGET_EXCEEDED", "budget"],
    ["INFRA_DOCKER_UNAVAILABLE", "infrastructure"],
    ["INFRA_CONTAINER_LOST", "infrastructure"],
    ["PUSH_FAILED", "infrastructure"],
    ["BRANCH_MOVED", "branch"],
    ["BRANCH_MISSING", "branch"],
  ] as Array<[JobFailureCode, JobFailureKind]>)("%s is the %s's problem", (code, kind) => {
    expect(classifyJobFailure(code)).toBe(kind);
  });
});

describe("decideJobRetry: the retry ladder of a job's end", () => {
  test("Foreman's own transient trouble is tried again on the same base while attempts remain", () => {
    expect(decideJobRetry({ code: "INFRA_DOCKER_UNAVAILABLE", transient: true }, job(1))).toEqual({
      retry: true,
      baseSha: "base-1",
    });
    expect(decideJobRetry({ code: "PUSH_FAILED", transient: true }, job(2))).toEqual({
      retry: true,
      baseSha: "base-1",
    });
    expect(decideJobRetry({ code: "INFRA_DOCKER_UNAVAILABLE", transient: true }, job(3))).toEqual({ retry: false });
    // A permanent GitHub refusal is not tried again.
    expect(decideJobRetry({ code: "INFRA_GITHUB", transient: false }, job(1))).toEqual({ retry: false });
    // The model API's rate limit and outage pass; a refused key does not, however the runner saw it.
    expect(decideJobRetry({ code: "MODEL_API_RATE_LIMITED", transient: true }, job(1))).toMatchObject({ retry: true });
    expect(decideJobRetry({ code: "MODEL_API_UNAVAILABLE", transient: true }, job(1))).toMatchObject({ retry: true });
    expect(decideJobRetry({ code: "MODEL_API_UNAUTHORIZED", transient: true }, job(1))).toEqual({ retry: false });
  });

  test("a branch a human moved runs the step again on top of their commit; without one it ends", () => {
    expect(decideJobRetry({ code: "BRANCH_MOVED", transient: false, newHeadSha: "human-1" }, job(1))).toEqual({
      retry: true,
      baseSha: "human-1",
    });
    expect(decideJobRetry({ code: "BRANCH_MOVED", transient: false, newHeadSha: null }, job(1))).toEqual({
      retry: false,
    });
    expect(decideJobRetry({ code: "BRANCH_MISSING", transient: true }, job(1))).toEqual({ retry: false });
  });

  test("property: never past the last attempt, and never the agent's, the settings', a budget's or a stop's failure", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CODES),
        fc.boolean(),
        fc.option(fc.constantFrom("human-1", "human-2"), { nil: null }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        (code, transient, newHeadSha, attempt, maxAttempts) => {
          const decision = decideJobRetry({ code, transient, newHeadSha }, job(attempt, maxAttempts));
          if (attempt >= maxAttempts) expect(decision.retry).toBe(false);
          if (["agent", "config", "budget", "stopped"].includes(classifyJobFailure(code)))
            expect(decision.retry).toBe(false);
          if (decision.retry) expect(decision.baseSha).toBe(code === "BRANCH_MOVED" ? newHeadSha : "base-1");
        },
      ),
    );
  });
});

describe("findBudgetOverrun: one check, two moments", () => {
  const budgets = { agentMinutes: 10, tokens: 1000, costUsd: 2 };
  const usage = (agentMinutes: number, tokens = 0, costUsd = 0) => ({
    agentMs: agentMinutes * 60_000,
    tokens,
    costUsd,
  });

  test("a budget spent exactly leaves nothing for another step, but is not over it", () => {
    expect(findBudgetOverrun(usage(10), budgets, "before_step")).toBe(
      "Agents have already worked 10 minutes on this task, its budget of 10 minutes.",
    );
    expect(findBudgetOverrun(usage(10), budgets, "after_step")).toBeNull();
    expect(findBudgetOverrun(usage(11), budgets, "after_step")).toBe(
      "Agents have worked 11 minutes on this task, over its budget of 10 minutes.",
    );
  });

  test("tokens and cost count before a step too, not only minutes", () => {
    expect(findBudgetOverrun(usage(1, 1000), budgets, "before_step")).toBe(
      "Agents have already used 1000 tokens, the task's budget of 1000.",
    );
    expect(findBudgetOverrun(usage(1, 0, 2.5), budgets, "after_step")).toBe(
      "Agents spent $2.50, over the task's budget of $2.00.",
    );
    expect(
      findBudgetOverrun(usage(1, 10_000, 100), { agentMinutes: 10, tokens: null, costUsd: null }, "after_step"),
    ).toBeNull();
    expect(findBudgetOverrun(usage(100), undefined, "before_step")).toBeNull();
  });

  test("property: whatever is over after a step also stops the next one from starting", () => {
    fc.assert(
      fc.property(fc.nat(30), fc.nat(3000), fc.double({ min: 0, max: 5, noNaN: true }), (minutes, tokens, cost) => {
        if (findBudgetOverrun(usage(minutes, tokens, cost), budgets, "after_step") !== null) {
          expect(findBudgetOverrun(usage(minutes, tokens, cost), budgets, "before_step")).not.toBeNull();
        }
      }),
    );
  });
});
