import { describe, expect, test } from "vitest";
import type { Effect } from "../../../src/workflow/effects.js";
import { transition } from "../../../src/workflow/transition.js";
import type { TaskConfig } from "../../../src/workflow/task.js";
import { PLAN, config, events, facts, Flow, makeTask, now } from "./fixtures.js";

const RED_MESSAGE =
  "CI on `main` is failing, so only bug-fix tasks start in this repository (red mode). This task starts by itself as soon as `main` is green again.";

describe("red mode", () => {
  test("a non-bugfix task authorised while the default branch is red waits with RED_MODE, and says so", () => {
    const { next, effects } = transition(
      makeTask("queued", { type: "ready", triggerLabel: "agent:feature" }),
      events.authorized,
      now,
      { ...facts, repoRed: true },
    );
    expect(next).toMatchObject({
      state: "waiting",
      type: "feature",
      config,
      branch: null,
      updatedAt: now.toISOString(),
      reason: { code: "RED_MODE", message: RED_MESSAGE },
    });
    expect(effects).toEqual([{ kind: "upsert_status_comment" }]);
  });

  test("a bugfix proceeds while the default branch is red", () => {
    const { next, effects } = transition(makeTask("queued"), events.authorized, now, { ...facts, repoRed: true });
    expect(next).toMatchObject({ state: "preparing", type: "bugfix", reason: null });
    expect(effects.map((effect) => effect.kind)).toEqual(["ensure_branch", "open_draft_pr"]);
  });

  test("a task whose type the config maps to bugfix is a bugfix", () => {
    const custom: TaskConfig = { ...config, triggerLabels: { ...config.triggerLabels, "agent:hotfix": "bugfix" } };
    const { next } = transition(
      makeTask("queued", { triggerLabel: "agent:hotfix" }),
      { ...events.authorized, config: custom },
      now,
      { ...facts, repoRed: true },
    );
    expect(next?.state).toBe("preparing");
  });

  test("a green (or unknown) default branch starts every type", () => {
    const feature = makeTask("queued", { triggerLabel: "agent:feature" });
    expect(transition(feature, events.authorized, now, { ...facts, repoRed: false }).next?.state).toBe("preparing");
    expect(transition(feature, events.authorized, now, facts).next?.state).toBe("preparing");
  });

  test("repo_turned_green starts the waiting task: branch, plan commit and draft PR, its pipeline resolved, the reason cleared", () => {
    const flow = new Flow(makeTask("queued", { triggerLabel: "agent:feature" }), { repoRed: true });
    flow.send(events.authorized);
    expect(flow.task.state).toBe("waiting");
    const effects = flow.send(events.repoTurnedGreen);
    expect(flow.task).toMatchObject({
      state: "preparing",
      type: "feature",
      branch: "agent/5-fix-the-login-redirect",
      reason: null,
      updatedAt: now.toISOString(),
      pipeline: { roles: ["planner", "coder", "reviewer"] },
    });
    expect(effects).toEqual([
      {
        kind: "ensure_branch",
        branch: "agent/5-fix-the-login-redirect",
        baseBranch: "main",
        planMessage:
          "Plan: Fix the login redirect\n\nForeman starts work on #5. This empty commit opens the branch; agent steps follow.",
      },
      expect.objectContaining({
        kind: "open_draft_pr",
        branch: "agent/5-fix-the-login-redirect",
        baseBranch: "main",
        title: "Fix the login redirect",
      }),
    ]);
  });

  test("a second green signal, or one for a task not waiting, changes nothing", () => {
    const preparing = makeTask("preparing");
    expect(transition(preparing, events.repoTurnedGreen, now, facts).next).toBe(preparing);
    const lost = makeTask("waiting", { config: null });
    expect(transition(lost, events.repoTurnedGreen, now, facts).next).toBe(lost);
  });

  test("a waiting task is cancelled when its own label is removed or the issue is closed", () => {
    const waiting = makeTask("waiting");
    expect(transition(waiting, { ...events.removeTrigger, label: "agent:feature" }, now, facts)).toMatchObject({
      next: { state: "cancelled", reason: { code: "AGENT_LABEL_REMOVED" } },
      effects: [{ kind: "upsert_status_comment" }],
    });
    expect(transition(waiting, events.closed, now, facts).next?.state).toBe("cancelled");
  });

  test("a waiting task that is frozen starts on green, but only after the freeze is lifted", () => {
    const flow = new Flow(makeTask("waiting"));
    flow.send(events.freezeOnIssue);
    const effects = flow.send(events.repoTurnedGreen);
    expect(flow.task).toMatchObject({ state: "frozen", resumeState: "preparing" });
    // Held in the outbox while frozen.
    expect(effects.map((effect) => effect.kind)).toEqual(["ensure_branch", "open_draft_pr"]);
    flow.send(events.unfreezeIssue);
    expect(flow.task.state).toBe("preparing");
  });
});

describe("shadow mode", () => {
  const shadow: TaskConfig = { ...config, mode: "shadow" };
  const FORBIDDEN = [
    "ensure_branch",
    "open_draft_pr",
    "add_labels",
    "post_pr_comment",
    "post_review",
    "upsert_check_run",
    "mark_ready_for_review",
    "request_reviewers",
    "schedule_ci_wait",
    "collect_ci_result",
  ];

  function runShadow(): Flow {
    const flow = new Flow(makeTask("queued"));
    expect(flow.send({ ...events.authorized, config: shadow })).toEqual([{ kind: "resolve_base", baseBranch: "main" }]);
    expect(flow.task).toMatchObject({
      state: "preparing",
      branch: null,
      prNumber: null,
      pipeline: { roles: ["planner", "coder", "reviewer"] },
    });
    expect(flow.send(events.baseResolved)).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "dispatch_agent_job", jobId: "job-n2", role: "planner", baseSha: "base-2" },
    ]);
    expect(flow.task).toMatchObject({ state: "awaiting_agent", baseSha: "base-2", headSha: "base-2" });
    return flow;
  }

  test("resolve_base, then every step runs on the base, and the task ends `completed` with the status comment", () => {
    const flow = runShadow();
    expect(
      flow.runJob({ commitSha: null, summary: "Planned.", report: { status: "success", body: PLAN, review: null } }),
    ).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "dispatch_agent_job", jobId: "job-n4", role: "coder", baseSha: "base-2" },
    ]);
    expect(flow.task.pipeline.plan).toBe(PLAN);
    // Nothing is pushed in shadow mode, so a coder without a commit is fine.
    expect(flow.runJob({ commitSha: null, summary: "Would change the handler." })).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "dispatch_agent_job", jobId: "job-n6", role: "reviewer", baseSha: "base-2" },
    ]);
    expect(
      flow.runJob({
        commitSha: null,
        summary: "Fine.",
        report: { status: "success", body: "Fine.", review: { body: "Fine.", comments: [] } },
      }),
    ).toEqual([{ kind: "upsert_status_comment" }]);
    expect(flow.task).toMatchObject({ state: "completed", jobId: null, prNumber: null, updatedAt: now.toISOString() });
    expect(flow.task.pipeline.steps.map((step) => [step.role, step.status])).toEqual([
      ["planner", "succeeded"],
      ["coder", "succeeded"],
      ["reviewer", "succeeded"],
    ]);

    const kinds = new Set(flow.effects.map((effect: Effect) => effect.kind));
    for (const kind of FORBIDDEN) expect(kinds).not.toContain(kind);
    // A completed task is finished: it changes no more, and a retry on it only says how to start anew.
    const done = flow.task;
    expect(transition(done, events.prMerged, now, facts)).toEqual({ next: done, effects: [] });
    expect(transition(done, events.allowedRetry, now, facts)).toMatchObject({
      next: done,
      effects: [{ kind: "answer_command", answer: "note" }],
    });
  });

  test("a shadow reviewer's 'needs changes' still sends one revision, which is not posted either", () => {
    const flow = runShadow();
    flow.runJob({ commitSha: null });
    flow.runJob({ commitSha: null });
    flow.runJob({ commitSha: null, report: { status: "needs_changes", body: "Missing a test.", review: null } });
    expect(flow.task).toMatchObject({
      state: "awaiting_agent",
      step: "coder",
      pipeline: { purpose: "review_revision" },
    });
    flow.runJob({ commitSha: null });
    expect(flow.task.state).toBe("completed");
    const kinds = new Set(flow.effects.map((effect) => effect.kind));
    for (const kind of FORBIDDEN) expect(kinds).not.toContain(kind);
  });

  test("a shadow task waiting in red mode reads the base when green", () => {
    const waiting = makeTask("waiting", { config: shadow });
    expect(transition(waiting, events.repoTurnedGreen, now, facts).effects).toEqual([
      { kind: "resolve_base", baseBranch: "main" },
    ]);
  });

  test("base_resolved outside preparing changes nothing", () => {
    const task = makeTask("awaiting_agent", { config: shadow });
    expect(transition(task, events.baseResolved, now, facts).next).toBe(task);
  });
});
