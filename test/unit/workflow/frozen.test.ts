import { describe, expect, test } from "vitest";
import { ALLOWED_WHILE_FROZEN, isInternalEffect, type Effect } from "../../../src/workflow/effects.js";
import { transition } from "../../../src/workflow/transition.js";
import { ciResult, config, events, facts, Flow, makeFrozenTask, makeTask, now, suiteOn } from "./fixtures.js";

/** What of these effects the engine runs while the task is frozen (the rest wait in the outbox; internal ones apply at once). */
function runnableWhileFrozen(effects: Effect[]): Effect[] {
  return effects.filter((effect) => ALLOWED_WHILE_FROZEN.includes(effect.kind));
}

/** What waits in the outbox until the freeze is lifted. */
function held(effects: Effect[]): string[] {
  return effects
    .filter((effect) => !ALLOWED_WHILE_FROZEN.includes(effect.kind) && !isInternalEffect(effect))
    .map((effect) => effect.kind);
}

describe("freeze while awaiting CI, then CI completes", () => {
  test("green: the task learns it and becomes ready on resume; nothing but the comment is written while frozen", () => {
    const flow = new Flow(makeTask("awaiting_ci"));
    expect(flow.send(events.freezeOnPr)).toEqual([{ kind: "upsert_status_comment" }]);
    expect(flow.task).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_ci",
      frozenBy: "bob",
      frozenOn: "pull_request",
    });

    const suite = flow.send((task) => suiteOn(task, "success", 320));
    expect(flow.task).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_ci",
      pipeline: { ci: { sha: "head-1", conclusion: "success", suiteId: 320 } },
    });
    expect(suite).toEqual([{ kind: "collect_ci_result", sha: "head-1", suiteId: 320, apps: ["github-actions"] }]);
    expect(runnableWhileFrozen(suite)).toEqual([]);

    const verdict = flow.send((task) => ciResult(task, "success"));
    expect(flow.task).toMatchObject({ state: "frozen", resumeState: "ready_for_review" });
    // The check run is not redrawn while frozen; marking the PR ready waits for the resume.
    expect(verdict).toEqual([{ kind: "mark_ready_for_review", prNumber: 9 }, { kind: "upsert_status_comment" }]);
    expect(runnableWhileFrozen(verdict)).toEqual([{ kind: "upsert_status_comment" }]);
    expect(held(verdict)).toEqual(["mark_ready_for_review"]);

    expect(flow.send(events.unfreezePr)).toEqual([{ kind: "upsert_status_comment" }, { kind: "upsert_check_run" }]);
    expect(flow.task).toMatchObject({ state: "ready_for_review", resumeState: null, frozenBy: null, frozenOn: null });
  });

  test("red: the ci_fixer is queued at once but its job waits for the resume", () => {
    const flow = new Flow(makeFrozenTask("awaiting_ci"));
    flow.send((task) => suiteOn(task, "failure"));
    const effects = flow.send((task) =>
      ciResult(task, "failure", [{ name: "test", summary: "1 failed", logTail: "" }]),
    );
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "dispatch_agent_job", jobId: "job-n2", role: "ci_fixer", baseSha: "head-1" },
    ]);
    expect(flow.task).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_agent",
      step: "ci_fixer",
      jobId: "job-n2",
      pipeline: { ciAttempts: 1 },
    });
  });

  test("red past the attempts: escalated on resume; the freeze label on the PR waits, the explanation is posted", () => {
    const flow = new Flow(
      makeFrozenTask("awaiting_ci", "issue", { pipeline: { ...makeTask("awaiting_ci").pipeline, ciAttempts: 3 } }),
    );
    const effects = flow.send((task) => ciResult(task, "failure", []));
    expect(flow.task).toMatchObject({
      state: "frozen",
      resumeState: "escalated",
      reason: { code: "CI_FAILED_TOO_OFTEN" },
    });
    expect(effects.map((effect) => effect.kind)).toEqual(["add_labels", "post_pr_comment", "upsert_status_comment"]);
    expect(held(effects)).toEqual(["add_labels"]);
  });

  test("with whenMissing: ready, nothing said while frozen claims the PR was marked ready", () => {
    const frozen = makeFrozenTask("awaiting_ci", "issue", {
      config: { ...config, ci: { ...config.ci, whenMissing: "ready" } },
    });
    const { next, effects } = transition(frozen, events.ciWaitExpired, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "ready_for_review" });
    expect(held(effects)).toContain("mark_ready_for_review");
    expect(runnableWhileFrozen(effects)).toEqual([{ kind: "upsert_status_comment" }]);
  });
});

describe("what a frozen task still does", () => {
  test("a job that started before the freeze moves the resume point; its check run is not redrawn", () => {
    const { next, effects } = transition(makeFrozenTask("awaiting_agent"), events.jobStarted, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "running" });
    // Its progress redraw is the check run's, which waits for the thaw.
    expect(effects).toEqual([]);
  });

  test("a step that finishes while frozen queues the next step, which waits", () => {
    const { next, effects } = transition(makeFrozenTask("running"), events.jobFinished, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "awaiting_agent", step: "reviewer" });
    expect(effects).toEqual([{ kind: "dispatch_agent_job", jobId: "job-new", role: "reviewer", baseSha: "c0ffee" }]);
  });

  test("a permission check and the answer to /foreman status still run, and change nothing", () => {
    const task = makeFrozenTask("awaiting_ci");
    const asked = transition(task, events.cmdStatus, now, facts);
    expect(asked).toEqual({
      next: task,
      effects: [
        { kind: "authorize_actor", login: "dave", action: { kind: "command", command: "status", commentId: 501 } },
      ],
    });
    const answered = transition(task, events.allowedStatus, now, facts);
    expect(answered.next).toBe(task);
    expect(runnableWhileFrozen(answered.effects)).toEqual(answered.effects);
    expect(answered.effects.map((effect) => effect.kind)).toEqual(["answer_command"]);
  });

  test("/foreman stop ends a frozen task and draws its end", () => {
    const { next, effects } = transition(makeFrozenTask("awaiting_ci"), events.allowedStop, now, facts);
    expect(next).toMatchObject({ state: "cancelled", resumeState: null, reason: { code: "STOPPED_BY_COMMAND" } });
    expect(effects).toEqual([{ kind: "upsert_status_comment" }, { kind: "upsert_check_run" }]);
  });

  test("/foreman retry on a frozen escalated task answers now and queues the ci_fixer for the resume", () => {
    const { next, effects } = transition(makeFrozenTask("escalated"), events.allowedRetry, now, facts);
    expect(next).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_agent",
      step: "ci_fixer",
      pipeline: { ciAttempts: 1 },
    });
    // The label comes off the PR when the freeze is lifted (removing it is a write).
    expect(effects.map((effect) => effect.kind)).toEqual([
      "answer_command",
      "remove_label",
      "upsert_status_comment",
      "dispatch_agent_job",
    ]);
  });

  test("a human review on a frozen ready PR is checked now and its revision waits", () => {
    const task = makeFrozenTask("ready_for_review", "pull_request");
    expect(transition(task, events.changesRequested, now, facts).effects.map((effect) => effect.kind)).toEqual([
      "authorize_actor",
    ]);
    const { next, effects } = transition(task, events.allowedReview, now, facts);
    expect(next).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_agent",
      step: "coder",
      pipeline: { purpose: "human_revision" },
    });
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment", "dispatch_agent_job"]);
  });

  test("a human push while frozen awaiting CI moves the head and reschedules the wait", () => {
    const { next, effects } = transition(makeFrozenTask("awaiting_ci"), events.humanPush, now, facts);
    expect(next).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_ci",
      headSha: "human-1",
      pipeline: { waitingCiSha: "human-1" },
    });
    // The redraws wait for the thaw (the status comment keeps saying "frozen"; the check run is not touched).
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "schedule_ci_wait", sha: "human-1", afterMs: 30 * 60_000 },
    ]);
  });

  test("an event that moves nothing leaves the frozen task as it is", () => {
    const task = makeFrozenTask("awaiting_ci");
    for (const event of [events.approved, events.botPush, events.suiteOtherSha, events.ciPending, events.jobStarted]) {
      expect(transition(task, event, now, facts)).toEqual({ next: task, effects: [] });
    }
  });

  test("a frozen task with no resume state on record resumes as queued", () => {
    const task = makeTask("frozen", { resumeState: null, frozenBy: "bob", frozenOn: "issue", config: null });
    expect(transition(task, events.unfreezeIssue, now, facts).next?.state).toBe("queued");
  });

  test("a job the freeze already stopped is not cancelled a second time when the frozen task ends", () => {
    const flow = new Flow(makeTask("running"));
    flow.send(events.freezeOnIssue);
    flow.send(events.closed);
    expect(flow.effects.filter((effect) => effect.kind === "cancel_agent_job")).toEqual([
      { kind: "cancel_agent_job", jobId: "job-1" },
    ]);
  });
});
