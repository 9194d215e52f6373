import { describe, expect, test } from "vitest";
import type { Effect } from "../../../src/workflow/effects.js";
import type { CiFailure, Task, TaskConfig } from "../../../src/workflow/task.js";
import { matchesStatusContext } from "../../../src/workflow/ci-transitions.js";
import { transition } from "../../../src/workflow/transition.js";
import { ciResult, config, events, facts, Flow, makeTask, now, suiteOn } from "./fixtures.js";

const WAIT_MS = 30 * 60_000;
const failures: CiFailure[] = [
  { name: "test", summary: "2 tests failed\nlogin.test.ts: redirect keeps next", logTail: "FAIL login.test.ts" },
  { name: "lint", summary: "1 problem", logTail: "no-unused-vars" },
];

function kinds(effects: Effect[]): string[] {
  return effects.map((effect) => effect.kind);
}

/** A task waiting for CI on head-1, with this config. */
function awaitingCi(settings: TaskConfig = config, overrides: Partial<Task> = {}): Flow {
  return new Flow(makeTask("awaiting_ci", { config: settings, ...overrides }));
}

/** CI on the head fails; the ci_fixer it sends pushes `commitSha`. */
function failAndFix(flow: Flow, commitSha: string, summary: string): void {
  flow.send((task) => suiteOn(task, "failure"));
  flow.send((task) => ciResult(task, "failure", failures));
  flow.runJob({ commitSha, summary });
}

describe("red CI: ci_fixer steps, then escalation", () => {
  test("each red verdict on the head sends a ci_fixer with the failures, on the head, and CI is awaited on its commit", () => {
    const flow = awaitingCi();
    expect(flow.send((task) => suiteOn(task, "failure"))).toEqual([
      { kind: "collect_ci_result", sha: "head-1", suiteId: 301, apps: ["github-actions"] },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      updatedAt: now.toISOString(),
      pipeline: { ci: { sha: "head-1", conclusion: "failure", suiteId: 301 } },
    });

    expect(flow.send((task) => ciResult(task, "failure", failures))).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n2", role: "ci_fixer", baseSha: "head-1" },
    ]);
    expect(flow.task).toMatchObject({ state: "awaiting_agent", step: "ci_fixer", jobId: "job-n2" });
    expect(flow.task.pipeline).toMatchObject({
      purpose: "ci_fix",
      ciAttempts: 1,
      feedback: { kind: "ci", sha: "head-1", failures },
    });

    expect(flow.runJob({ commitSha: "fix-1", summary: "Fixed the redirect test." })).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "schedule_ci_wait", sha: "fix-1", afterMs: WAIT_MS },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      headSha: "fix-1",
      pipeline: { feedback: null, waitingCiSha: "fix-1", ciAttempts: 1 },
    });
  });

  test("CI red three times → three ci_fixer steps, then escalated: the PR gets the freeze label and a comment listing failures and attempts", () => {
    const flow = awaitingCi();
    failAndFix(flow, "fix-1aaaaaaaa", "Fixed the redirect test.");
    failAndFix(flow, "fix-2bbbbbbbb", "Fixed lint.");
    failAndFix(flow, "fix-3cccccccc", "Tried again.");
    expect(
      flow.task.pipeline.steps
        .filter((step) => step.role === "ci_fixer")
        .map((step) => [step.purpose, step.status, step.commitSha]),
    ).toEqual([
      ["ci_fix", "succeeded", "fix-1aaaaaaaa"],
      ["ci_fix", "succeeded", "fix-2bbbbbbbb"],
      ["ci_fix", "succeeded", "fix-3cccccccc"],
    ]);
    expect(flow.task.pipeline.ciAttempts).toBe(3);

    flow.send((task) => suiteOn(task, "failure"));
    const effects = flow.send((task) => ciResult(task, "failure", failures));
    expect(kinds(effects)).toEqual(["add_labels", "post_pr_comment", "upsert_status_comment", "upsert_check_run"]);
    expect(effects[0]).toEqual({ kind: "add_labels", issueNumber: 9, labels: ["needs-human-review"] });
    expect(effects[1]).toMatchObject({
      kind: "post_pr_comment",
      prNumber: 9,
      marker: "foreman:escalated:task-1:fix-3cccccccc",
    });
    expect((effects[1] as Extract<Effect, { kind: "post_pr_comment" }>).body).toMatchInlineSnapshot(`
      "### 🙋 Foreman needs a human here

      CI still fails (\`test\`, \`lint\`) after 3 ci_fixer attempts (the limit is 3), so Foreman stopped and asks a human to look.

      **What failed**
      - **test**: 2 tests failed · login.test.ts: redirect keeps next
      - **lint**: 1 problem

      **What Foreman tried**
      1. pushed fix-1aa: Fixed the redirect test.
      2. pushed fix-2bb: Fixed lint.
      3. pushed fix-3cc: Tried again.

      Push a fix to this branch, or comment \`/foreman retry\` to give the agents another 3 attempts."
    `);
    expect(flow.task).toMatchObject({ state: "escalated", jobId: null });
    expect(flow.task.reason).toEqual({
      code: "CI_FAILED_TOO_OFTEN",
      message:
        "CI still fails (`test`, `lint`) after 3 ci_fixer attempts (the limit is 3), so Foreman stopped and asks a human to look.",
    });
    // No agent job was queued for the escalation.
    expect(kinds(effects)).not.toContain("dispatch_agent_job");
  });

  test("the escalation uses the configured freeze label and says 'attempt' for one", () => {
    const flow = awaitingCi({ ...config, freezeLabel: "hold", maxCiAttempts: 1 });
    failAndFix(flow, "fix-1", "Fixed.");
    flow.send((task) => suiteOn(task, "failure"));
    const effects = flow.send((task) => ciResult(task, "failure", []));
    expect(effects[0]).toEqual({ kind: "add_labels", issueNumber: 9, labels: ["hold"] });
    expect(flow.task.reason?.message).toBe(
      "CI still fails (the CI checks) after 1 ci_fixer attempt (the limit is 1), so Foreman stopped and asks a human to look.",
    );
    const body = (effects[1] as Extract<Effect, { kind: "post_pr_comment" }>).body;
    expect(body).toContain("- (no failing check details were available)");
    expect(body).toContain("1. pushed fix-1: Fixed.");
  });

  test("with maxCiAttempts 0 the first red verdict escalates", () => {
    const flow = awaitingCi({ ...config, maxCiAttempts: 0 });
    const effects = flow.send((task) => ciResult(task, "failure", failures));
    expect(flow.task.state).toBe("escalated");
    expect((effects[1] as Extract<Effect, { kind: "post_pr_comment" }>).body).toContain(
      "(no ci_fixer step ran: `maxCiAttempts` is 0)",
    );
  });

  test("a task without a PR escalates with its status comment only", () => {
    const { next, effects } = transition(
      makeTask("awaiting_ci", { prNumber: null, config: { ...config, maxCiAttempts: 0 } }),
      events.ciFailure,
      now,
      facts,
    );
    expect(next?.state).toBe("escalated");
    expect(effects).toEqual([{ kind: "upsert_status_comment" }]);
  });
});

describe("green CI: ready for review", () => {
  test("red then green → ready_for_review: the PR leaves draft; no reviewers are requested when none are configured", () => {
    const flow = awaitingCi();
    failAndFix(flow, "fix-1", "Fixed.");
    expect(flow.send((task) => suiteOn(task, "success", 302))).toEqual([
      { kind: "collect_ci_result", sha: "fix-1", suiteId: 302, apps: ["github-actions"] },
    ]);
    expect(flow.send((task) => ciResult(task, "success"))).toEqual([
      { kind: "mark_ready_for_review", prNumber: 9 },
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
    ]);
    expect(flow.task).toMatchObject({
      state: "ready_for_review",
      headSha: "fix-1",
      reason: null,
      pipeline: { feedback: null, ciAttempts: 1 },
    });
  });

  test("configured reviewers are requested when the PR is ready", () => {
    const flow = awaitingCi({ ...config, reviewers: { users: ["carol"], teams: ["core"] } });
    expect(flow.send((task) => ciResult(task, "success"))).toEqual([
      { kind: "mark_ready_for_review", prNumber: 9 },
      { kind: "request_reviewers", prNumber: 9, users: ["carol"], teams: ["core"] },
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
    ]);
  });

  test("a team alone is enough to request reviewers", () => {
    const { effects } = transition(
      makeTask("awaiting_ci", { config: { ...config, reviewers: { users: [], teams: ["core"] } } }),
      events.ciSuccess,
      now,
      facts,
    );
    expect(effects[1]).toEqual({ kind: "request_reviewers", prNumber: 9, users: [], teams: ["core"] });
  });

  test("neutral and skipped suites count as green, anything else as red", () => {
    const task = makeTask("awaiting_ci");
    for (const conclusion of ["success", "neutral", "skipped"]) {
      expect(transition(task, suiteOn(task, conclusion), now, facts).next?.pipeline.ci?.conclusion).toBe("success");
    }
    for (const conclusion of ["failure", "cancelled", "timed_out", "action_required"]) {
      expect(transition(task, suiteOn(task, conclusion), now, facts).next?.pipeline.ci?.conclusion).toBe("failure");
    }
  });

  test("a pending verdict (other suites still run) changes nothing: their own completion is read later", () => {
    const task = makeTask("awaiting_ci");
    expect(transition(task, events.ciPending, now, facts)).toEqual({ next: task, effects: [] });
  });

  test("a verdict on an older head changes nothing", () => {
    const task = makeTask("awaiting_ci", { headSha: "head-2" });
    expect(transition(task, events.ciFailure, now, facts)).toEqual({ next: task, effects: [] });
    expect(transition(task, events.ciSuccess, now, facts)).toEqual({ next: task, effects: [] });
  });
});

describe("which suites count", () => {
  test("a suite of another app, or on another SHA, changes nothing when only the CI apps decide", () => {
    const task = makeTask("awaiting_ci", { config: { ...config, ci: { ...config.ci, requiredOnly: false } } });
    expect(transition(task, events.suiteOtherApp, now, facts)).toEqual({ next: task, effects: [] });
    expect(transition(task, events.suiteOtherSha, now, facts)).toEqual({ next: task, effects: [] });
    expect(transition(task, { ...events.suiteOnHead, headSha: "head-0" }, now, facts)).toEqual({
      next: task,
      effects: [],
    });
  });

  test("with ci.requiredOnly (the default), another app's suite on the head while CI is awaited reads the verdict again, and is not remembered as CI", () => {
    const task = makeTask("awaiting_ci");
    const result = transition(task, events.suiteOtherApp, now, facts);
    expect(result.effects).toEqual([
      { kind: "collect_ci_result", sha: "head-1", suiteId: 303, apps: ["github-actions"] },
    ]);
    expect(result.next?.pipeline.ci).toEqual(task.pipeline.ci);
    // While steps still run, it is not remembered either: only CI apps' suites are.
    const running = makeTask("running", { headSha: "head-1" });
    expect(transition(running, events.suiteOtherApp, now, facts)).toEqual({ next: running, effects: [] });
  });

  test("a final commit status of a counted context counts like a CI suite; pending and uncounted contexts do not", () => {
    const status = {
      type: "commit_status_reported" as const,
      repo: makeTask("awaiting_ci").repo,
      sha: "head-1",
      headBranch: "agent/1-x",
      context: "ci/jenkins/pr-head",
      state: "failure" as const,
      description: "Build #12 failed",
      targetUrl: "https://jenkins.example/job/12",
      sender: "jenkins",
    };
    const only = (statuses: string[]) =>
      makeTask("awaiting_ci", { config: { ...config, ci: { ...config.ci, statuses, requiredOnly: false } } });
    expect(transition(only(["ci/jenkins/*"]), status, now, facts).effects).toEqual([
      { kind: "collect_ci_result", sha: "head-1", suiteId: null, apps: ["github-actions"] },
    ]);
    expect(transition(only(["ci/jenkins/*"]), { ...status, state: "pending" }, now, facts).effects).toEqual([]);
    expect(transition(only(["buildkite/*"]), status, now, facts).effects).toEqual([]);
    expect(transition(only(["ci/jenkins/*"]), { ...status, sha: "old" }, now, facts).effects).toEqual([]);
    // The default counts every context.
    expect(transition(makeTask("awaiting_ci"), status, now, facts).effects).toHaveLength(1);
    // While a step runs it is remembered, and read when the pipeline finishes.
    const running = makeTask("running", { headSha: "head-1" });
    expect(transition(running, status, now, facts).next?.pipeline.ci).toEqual({
      sha: "head-1",
      conclusion: "failure",
      suiteId: null,
    });
  });

  test("status contexts match exactly or by glob, and nothing else", () => {
    expect(matchesStatusContext(["*"], "anything/at all")).toBe(true);
    expect(matchesStatusContext(["ci/jenkins/*"], "ci/jenkins/pr-head")).toBe(true);
    expect(matchesStatusContext(["ci/jenkins/*"], "ci/jenkinsX")).toBe(false);
    expect(matchesStatusContext(["ci/jenkins"], "ci/jenkins/pr-head")).toBe(false);
    expect(matchesStatusContext(["build (1.2)"], "build (1.2)")).toBe(true);
    expect(matchesStatusContext(["a.b"], "axb")).toBe(false);
    expect(matchesStatusContext([], "ci/jenkins")).toBe(false);
  });

  test("an app listed in ci.apps counts, and all listed apps are read", () => {
    const task = makeTask("awaiting_ci", {
      config: { ...config, ci: { ...config.ci, apps: ["github-actions", "codecov"] } },
    });
    expect(transition(task, events.suiteOtherApp, now, facts).effects).toEqual([
      { kind: "collect_ci_result", sha: "head-1", suiteId: 303, apps: ["github-actions", "codecov"] },
    ]);
  });

  test("a suite on the head while the reviewer runs is remembered, and read when the pipeline finishes", () => {
    const running = makeTask("running");
    const flow = new Flow(
      makeTask("running", { step: "reviewer", headSha: "c0ffee", pipeline: { ...running.pipeline, index: 2 } }),
    );
    expect(flow.send((task) => suiteOn(task, "success", 410))).toEqual([]);
    expect(flow.task).toMatchObject({
      state: "running",
      updatedAt: now.toISOString(),
      pipeline: { ci: { sha: "c0ffee", conclusion: "success", suiteId: 410 } },
    });

    const effects = flow.send((task) => ({
      ...events.jobFinished,
      jobId: task.jobId!,
      commitSha: null,
      summary: "Fine.",
    }));
    // No CI timer: CI on this head already reported.
    expect(effects.slice(1)).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "collect_ci_result", sha: "c0ffee", suiteId: 410, apps: ["github-actions"] },
    ]);
    expect(flow.task).toMatchObject({ state: "awaiting_ci", pipeline: { waitingCiSha: "c0ffee" } });
    expect(kinds(flow.send((task) => ciResult(task, "success")))).toEqual([
      "mark_ready_for_review",
      "upsert_status_comment",
      "upsert_check_run",
    ]);
  });

  test("a suite remembered while a job was queued is for a head the next commit replaces: CI is awaited on the new head", () => {
    const flow = new Flow(
      makeTask("awaiting_agent", { pipeline: { ...makeTask("awaiting_agent").pipeline, roles: ["planner", "coder"] } }),
    );
    flow.send((task) => suiteOn(task, "success"));
    expect(flow.task.pipeline.ci?.sha).toBe("head-1");
    expect(flow.runJob({ commitSha: "c0ffee" }).at(-1)).toEqual({
      kind: "schedule_ci_wait",
      sha: "c0ffee",
      afterMs: WAIT_MS,
    });
  });
});

describe("the CI wait timer", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";

  test("with whenMissing: wait (the default) the task keeps waiting and says why", () => {
    const flow = awaitingCi(config, {
      headSha: sha,
      pipeline: { ...makeTask("awaiting_ci").pipeline, waitingCiSha: sha },
    });
    expect(flow.send({ ...events.ciWaitExpired, sha })).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
    ]);
    expect(flow.task).toMatchObject({ state: "awaiting_ci" });
    expect(flow.task.reason).toEqual({
      code: "NO_CI",
      message:
        "No CI has reported on 0123456 for 30 minutes (CI apps: github-actions). Foreman keeps waiting; set `ci.whenMissing: ready` in .github/foreman.yml for repos without CI, or list your CI's app under `ci.apps`.",
    });
    // CI that comes later still counts, and clears the reason.
    flow.send((task) => suiteOn(task, "success"));
    flow.send((task) => ciResult(task, "success"));
    expect(flow.task).toMatchObject({ state: "ready_for_review", reason: null });
  });

  test("with whenMissing: ready the PR is marked ready with a note", () => {
    const settings = { ...config, ci: { ...config.ci, whenMissing: "ready" as const, waitMinutes: 10 } };
    const flow = awaitingCi(settings, {
      headSha: sha,
      pipeline: { ...makeTask("awaiting_ci").pipeline, waitingCiSha: sha },
    });
    expect(flow.send({ ...events.ciWaitExpired, sha })).toEqual([
      {
        kind: "mark_ready_for_review",
        prNumber: 9,
        // Posted by the action that marks the PR ready, so it can't be said before that happened.
        note: "No CI reported on 0123456 within 10 minutes, so Foreman marked this PR ready without CI (`ci.whenMissing: ready` in .github/foreman.yml). Please test it yourself before merging.",
      },
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
    ]);
    expect(flow.task.state).toBe("ready_for_review");
  });

  test("the wait is scheduled with the configured minutes", () => {
    const flow = new Flow(
      makeTask("running", {
        config: { ...config, ci: { ...config.ci, waitMinutes: 5 } },
        pipeline: { ...makeTask("running").pipeline, roles: ["coder"], index: 0 },
      }),
    );
    expect(flow.send(events.jobFinished).at(-1)).toEqual({
      kind: "schedule_ci_wait",
      sha: "c0ffee",
      afterMs: 5 * 60_000,
    });
  });

  test("a timer for another head, or for a head whose CI came, or outside awaiting_ci, changes nothing", () => {
    const waiting = makeTask("awaiting_ci");
    expect(transition(waiting, { ...events.ciWaitExpired, sha: "head-0" }, now, facts).next).toBe(waiting);
    const seen = makeTask("awaiting_ci", {
      pipeline: { ...waiting.pipeline, ci: { sha: "head-1", conclusion: "success", suiteId: 300 } },
    });
    expect(transition(seen, events.ciWaitExpired, now, facts).next).toBe(seen);
    const ready = makeTask("ready_for_review");
    expect(transition(ready, events.ciWaitExpired, now, facts).next).toBe(ready);
  });
});

describe("pushes while awaiting CI", () => {
  test("a human push moves the head, forgets CI of the old head and reschedules the wait", () => {
    const flow = awaitingCi(config, {
      pipeline: { ...makeTask("awaiting_ci").pipeline, ci: { sha: "head-1", conclusion: "failure", suiteId: 301 } },
    });
    expect(flow.send(events.humanPush)).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "schedule_ci_wait", sha: "human-1", afterMs: WAIT_MS },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      headSha: "human-1",
      updatedAt: now.toISOString(),
      pipeline: { ci: null, waitingCiSha: "human-1" },
    });

    // What still comes for the old head is stale.
    const moved = flow.task;
    expect(transition(moved, events.ciWaitExpired, now, facts).next).toBe(moved);
    expect(transition(moved, events.ciFailure, now, facts).next).toBe(moved);
    expect(transition(moved, events.suiteOnHead, now, facts).next).toBe(moved);
    // CI on the human's commit is read.
    expect(flow.send((task) => suiteOn(task, "success"))).toEqual([
      { kind: "collect_ci_result", sha: "human-1", suiteId: 301, apps: ["github-actions"] },
    ]);
  });

  test("Foreman's own push, or a push that does not move the head, changes nothing", () => {
    const task = makeTask("awaiting_ci");
    expect(transition(task, events.botPush, now, facts).next).toBe(task);
    expect(transition(task, { ...events.humanPush, headSha: "head-1" }, now, facts).next).toBe(task);
  });

  test("Foreman's push is known by the commit it recorded or by its sender being Foreman's own app, not by any bot sender: another bot's push is kept like a human's", () => {
    const task = makeTask("awaiting_ci");
    const otherBot = { ...events.humanPush, sender: "dependabot[bot]", headSha: "bot-1" };
    expect(transition(task, otherBot, now, facts).next).toMatchObject({
      state: "awaiting_ci",
      headSha: "bot-1",
      pipeline: { waitingCiSha: "bot-1" },
    });
    // A push the intake did not know as the app's (`byForeman`) whose commit no job recorded is kept too.
    expect(transition(task, { ...events.botPush, headSha: "bot-2" }, now, facts).next).toMatchObject({
      headSha: "bot-2",
    });
    // The app's push whose job has not recorded it yet (the one-write push's report came first).
    expect(transition(task, events.appPush, now, facts).next).toBe(task);
    expect(transition(makeTask("running"), events.appPush, now, facts).next).toMatchObject({ headSha: "head-1" });
  });

  test("the ci_fixer after a human push starts from the human's commit", () => {
    const flow = awaitingCi();
    flow.send(events.humanPush);
    flow.send((task) => suiteOn(task, "failure"));
    expect(flow.send((task) => ciResult(task, "failure", failures)).at(-1)).toEqual({
      kind: "dispatch_agent_job",
      jobId: "job-n3",
      role: "ci_fixer",
      baseSha: "human-1",
    });
  });
});
