import { describe, expect, test } from "vitest";
import type { Effect } from "../../../src/workflow/effects.js";
import type { JobReport } from "../../../src/workflow/events.js";
import type { Task, TaskConfig } from "../../../src/workflow/task.js";
import { transition } from "../../../src/workflow/transition.js";
import { PLAN, config, events, facts, Flow, makeTask, now } from "./fixtures.js";

const REVIEW_COMMENTS = [{ path: "src/login.ts", line: 12, body: "An empty `next` still redirects to `/`." }];
const planReport: JobReport = { status: "success", body: PLAN, review: null };
const approvingReport: JobReport = {
  status: "success",
  body: "Looks right.",
  review: { body: "Looks right.", comments: [] },
};
const needsChangesReport: JobReport = {
  status: "needs_changes",
  body: "An empty `next` is not handled.",
  review: { body: "An empty `next` is not handled.", comments: REVIEW_COMMENTS },
};

/** A task whose draft PR is being opened, with this config. */
function preparing(settings: TaskConfig = config, roles?: string[]): Task {
  const task = makeTask("preparing", { config: settings });
  return roles ? { ...task, pipeline: { ...task.pipeline, roles } } : task;
}

function kinds(effects: Effect[]): string[] {
  return effects.map((effect) => effect.kind);
}

describe("the default pipeline: planner → coder → reviewer", () => {
  test("each step is dispatched in turn on the branch head, the plan is kept (for the status comment), the review is a comment, then CI is awaited", () => {
    const flow = new Flow(preparing());
    expect(flow.send(events.prOpened)).toEqual([
      { kind: "add_labels", issueNumber: 9, labels: ["ai-generated"] },
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n1", role: "planner", baseSha: "head-1" },
    ]);

    // The planner changes nothing and that is fine; its plan is kept for later steps and shown in the status comment, not posted on the PR.
    const afterPlan = flow.runJob({ commitSha: null, summary: "Planned.", report: planReport });
    expect(afterPlan).toEqual([
      // Between milestones only one surface is redrawn (the check run here).
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n3", role: "coder", baseSha: "head-1" },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_agent",
      step: "coder",
      jobId: "job-n3",
      headSha: "head-1",
      reason: null,
    });
    expect(flow.task.pipeline).toMatchObject({ plan: PLAN, index: 1, purpose: "pipeline", feedback: null });

    // The coder pushes; the reviewer works on its commit.
    expect(flow.runJob({ commitSha: "c0ffee", summary: "Kept the next parameter." })).toEqual([
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n5", role: "reviewer", baseSha: "c0ffee" },
    ]);
    expect(flow.task).toMatchObject({ headSha: "c0ffee", step: "reviewer", pipeline: { index: 2 } });

    // The reviewer's verdict is posted as a comment-only review on the commit it read; then CI on that commit.
    expect(flow.runJob({ commitSha: null, summary: "Looks right.", report: approvingReport })).toEqual([
      {
        kind: "post_review",
        prNumber: 9,
        commitSha: "c0ffee",
        marker: "foreman:review:job-n5",
        body: "### 🔎 Foreman reviewer step\n\nLooks right.",
        comments: [],
      },
      { kind: "upsert_status_comment" },
      { kind: "schedule_ci_wait", sha: "c0ffee", afterMs: 30 * 60_000 },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      step: "reviewer",
      jobId: null,
      headSha: "c0ffee",
      pipeline: { waitingCiSha: "c0ffee", reviewRevisions: 0 },
    });
    expect(flow.task.pipeline.steps).toEqual([
      {
        role: "planner",
        purpose: "pipeline",
        status: "succeeded",
        jobId: "job-n1",
        commitSha: null,
        summary: "Planned.",
      },
      {
        role: "coder",
        purpose: "pipeline",
        status: "succeeded",
        jobId: "job-n3",
        commitSha: "c0ffee",
        summary: "Kept the next parameter.",
      },
      {
        role: "reviewer",
        purpose: "pipeline",
        status: "succeeded",
        jobId: "job-n5",
        commitSha: null,
        summary: "Looks right.",
      },
    ]);
    expect(flow.task.usage).toEqual({ agentMs: 3000, tokens: 30, costUsd: 0.03 });
    // Nothing anywhere approves (or requests changes as the bot).
    expect(JSON.stringify(flow.effects)).not.toMatch(/APPROVE|REQUEST_CHANGES/);
  });

  test("a planner without a body in its report plans with its summary", () => {
    const flow = new Flow(
      makeTask("running", { step: "planner", pipeline: { ...makeTask("running").pipeline, index: 0, plan: null } }),
    );
    const effects = flow.send((task) => ({
      ...events.jobFinished,
      jobId: task.jobId!,
      commitSha: null,
      summary: "Change the handler.",
    }));
    expect(flow.task.pipeline.plan).toBe("Change the handler.");
    expect(kinds(effects)).not.toContain("post_pr_comment");
  });

  test("a reviewer's report without a structured review is posted from its body, else its summary, with its inline comments when given", () => {
    const reviewing = makeTask("running", {
      step: "reviewer",
      headSha: "c0ffee",
      pipeline: { ...makeTask("running").pipeline, index: 2 },
    });
    const fromBody = transition(
      reviewing,
      { ...events.jobFinished, commitSha: null, report: { status: "success", body: "Fine by me.", review: null } },
      now,
      facts,
    );
    expect(fromBody.effects[0]).toEqual({
      kind: "post_review",
      prNumber: 9,
      commitSha: "c0ffee",
      marker: "foreman:review:job-1",
      body: "### 🔎 Foreman reviewer step\n\nFine by me.",
      comments: [],
    });
    const fromSummary = transition(
      reviewing,
      { ...events.jobFinished, commitSha: null, summary: "No findings." },
      now,
      facts,
    );
    expect(fromSummary.effects[0]).toMatchObject({
      kind: "post_review",
      body: "### 🔎 Foreman reviewer step\n\nNo findings.",
    });
    const inline = transition(
      reviewing,
      {
        ...events.jobFinished,
        commitSha: null,
        report: { status: "success", body: null, review: { body: "Two nits.", comments: REVIEW_COMMENTS } },
      },
      now,
      facts,
    );
    expect(inline.effects[0]).toMatchObject({
      kind: "post_review",
      body: "### 🔎 Foreman reviewer step\n\nTwo nits.",
      comments: REVIEW_COMMENTS,
    });
  });

  test("a security step reviews like the reviewer, under its own name", () => {
    const task = makeTask("running", {
      step: "security",
      headSha: "c0ffee",
      pipeline: { ...makeTask("running").pipeline, roles: ["coder", "security"], index: 1 },
    });
    const { effects } = transition(
      task,
      { ...events.jobFinished, commitSha: null, report: { status: "success", body: "No secrets.", review: null } },
      now,
      facts,
    );
    expect(effects[0]).toEqual({
      kind: "post_review",
      prNumber: 9,
      commitSha: "c0ffee",
      marker: "foreman:review:job-1",
      body: "### 🔎 Foreman security step\n\nNo secrets.",
      comments: [],
    });
  });
});

describe("what is redrawn, and where", () => {
  test("no check run on the empty plan commit: progress goes to the status comment until the coder pushes, then to the check run", () => {
    const flow = new Flow({ ...preparing(), headSha: null });
    flow.send({ ...events.branchReady, headSha: "plan-1" });
    expect(flow.task.pipeline.planSha).toBe("plan-1");
    // The draft PR opens: the status comment only (the PR's head is the empty plan commit).
    expect(flow.send(events.prOpened).map((effect) => effect.kind)).toEqual([
      "add_labels",
      "upsert_status_comment",
      "dispatch_agent_job",
    ]);
    expect(flow.send((task) => ({ ...events.jobStarted, jobId: task.jobId! }))).toEqual([
      { kind: "upsert_status_comment" },
    ]);
    // The planner hands over to the coder: still the status comment.
    expect(
      flow
        .send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: null, report: planReport }))
        .map((effect) => effect.kind),
    ).toEqual(["upsert_status_comment", "dispatch_agent_job"]);
    flow.send((task) => ({ ...events.jobStarted, jobId: task.jobId! }));
    // The coder pushed: from now on progress is drawn on the check run of the new head.
    expect(
      flow
        .send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: "c0ffee" }))
        .map((effect) => effect.kind),
    ).toEqual(["upsert_check_run", "dispatch_agent_job"]);
    expect(flow.send((task) => ({ ...events.jobStarted, jobId: task.jobId! }))).toEqual([{ kind: "upsert_check_run" }]);
    // Waiting for CI: the status comment only (the check run is in progress already).
    expect(
      flow
        .send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: null, report: approvingReport }))
        .map((effect) => effect.kind),
    ).toEqual(["post_review", "upsert_status_comment", "schedule_ci_wait"]);
  });
});

describe("a human push while the reviewer runs", () => {
  test("the review is posted on the commit the reviewer read; CI is awaited on the human's", () => {
    const flow = new Flow(
      makeTask("running", {
        step: "reviewer",
        headSha: "c0ffee",
        pipeline: { ...makeTask("running").pipeline, roles: ["coder", "reviewer"], index: 1 },
      }),
    );
    flow.send(events.humanPush);
    expect(flow.task.headSha).toBe("human-1");
    const effects = flow.send((task) => ({
      ...events.jobFinished,
      jobId: task.jobId!,
      baseSha: "c0ffee",
      commitSha: null,
      report: approvingReport,
    }));
    expect(effects.find((effect) => effect.kind === "post_review")).toMatchObject({ commitSha: "c0ffee" });
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      headSha: "human-1",
      pipeline: { waitingCiSha: "human-1" },
    });
  });
});

describe("a human push while the coder runs", () => {
  /** The coder (the last step, after the planner) runs on head-1. */
  function coding(): Flow {
    return new Flow(
      makeTask("running", { pipeline: { ...makeTask("running").pipeline, roles: ["planner", "coder"] } }),
    );
  }
  const coderEnd = (task: Task, commitSha: string, baseSha = "head-1") => ({
    ...events.jobFinished,
    jobId: task.jobId!,
    baseSha,
    commitSha,
  });

  test("a push on top of the coder's commit, reported before the coder's end, stays the head (and a push on top of that)", () => {
    const flow = coding();
    flow.send({ ...events.humanPush, before: "code-1", headSha: "human-1" });
    flow.send({ ...events.humanPush, before: "human-1", headSha: "human-2" });
    expect(flow.task.headSha).toBe("human-2");
    flow.send((task) => coderEnd(task, "code-1"));
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      headSha: "human-2",
      pipeline: { waitingCiSha: "human-2" },
    });
    expect(flow.task.pipeline.steps.at(-1)).toMatchObject({ commitSha: "code-1" });
  });

  test("a push the coder's commit went on top of (its push ran again on the moved branch) gives way to the commit", () => {
    const flow = coding();
    flow.send({ ...events.humanPush, before: "head-1", headSha: "human-1" });
    flow.send((task) => coderEnd(task, "code-1", "human-1"));
    expect(flow.task).toMatchObject({ state: "awaiting_ci", headSha: "code-1" });
  });

  test("a force push back to the coder's commit, and a report without `before`, leave the commit the head", () => {
    const flow = coding();
    flow.send({ ...events.humanPush, before: "code-1", headSha: "human-1" });
    flow.send({ ...events.humanPush, before: "human-1", headSha: "code-1" });
    flow.send({ ...events.humanPush, headSha: "human-3" });
    flow.send((task) => coderEnd(task, "code-1"));
    expect(flow.task).toMatchObject({ state: "awaiting_ci", headSha: "code-1" });
  });

  test("the pushes seen during a step are forgotten when the next step is dispatched", () => {
    // The default pipeline: planner, coder (running), reviewer.
    const flow = new Flow(makeTask("running"));
    flow.send({ ...events.humanPush, before: "code-1", headSha: "human-1" });
    expect(flow.task.pipeline.pushesDuringStep).toEqual([{ before: "code-1", after: "human-1" }]);
    flow.send((task) => coderEnd(task, "code-1"));
    expect(flow.task).toMatchObject({ state: "awaiting_agent", step: "reviewer", headSha: "human-1" });
    expect(flow.task.pipeline).not.toHaveProperty("pushesDuringStep");
  });
});

describe("review revisions", () => {
  /** A task whose reviewer (step 2 of the default pipeline) runs on the coder's commit. */
  function reviewing(settings: TaskConfig = config, roles = ["planner", "coder", "reviewer"], index = 2): Flow {
    const running = makeTask("running");
    return new Flow(
      makeTask("running", {
        config: settings,
        step: roles[index]!,
        headSha: "c0ffee",
        pipeline: {
          ...running.pipeline,
          roles,
          index,
          steps: [
            {
              role: roles[index]!,
              purpose: "pipeline",
              status: "running",
              jobId: "job-1",
              commitSha: null,
              summary: null,
            },
          ],
        },
      }),
    );
  }

  test("'needs changes' posts the review and sends the coder once, with the review as its feedback", () => {
    const flow = reviewing();
    const effects = flow.send((task) => ({
      ...events.jobFinished,
      jobId: task.jobId!,
      commitSha: null,
      summary: "One problem.",
      report: needsChangesReport,
    }));
    expect(effects).toEqual([
      {
        kind: "post_review",
        prNumber: 9,
        commitSha: "c0ffee",
        marker: "foreman:review:job-1",
        body: "### 🔎 Foreman reviewer step\n\nAn empty `next` is not handled.",
        comments: REVIEW_COMMENTS,
      },
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n1", role: "coder", baseSha: "c0ffee" },
    ]);
    expect(flow.task).toMatchObject({ state: "awaiting_agent", step: "coder", jobId: "job-n1" });
    expect(flow.task.pipeline).toMatchObject({
      index: 2,
      purpose: "review_revision",
      reviewRevisions: 1,
      feedback: {
        kind: "review",
        author: "the reviewer agent",
        body: "An empty `next` is not handled.",
        comments: REVIEW_COMMENTS,
        reviewId: null,
      },
    });
    expect(flow.task.pipeline.steps.at(-1)).toEqual({
      role: "coder",
      purpose: "review_revision",
      status: "queued",
      jobId: "job-n1",
      commitSha: null,
      summary: null,
    });
    expect(JSON.stringify(effects)).not.toContain("APPROVE");
  });

  test("after the revision the pipeline continues after the reviewer: CI for the default pipeline", () => {
    const flow = reviewing();
    flow.send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: null, report: needsChangesReport }));
    expect(flow.runJob({ commitSha: "c0ffee2", summary: "Handled an empty next." })).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "schedule_ci_wait", sha: "c0ffee2", afterMs: 30 * 60_000 },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      headSha: "c0ffee2",
      pipeline: { feedback: null, reviewRevisions: 1, waitingCiSha: "c0ffee2" },
    });
  });

  test("after the revision the pipeline continues with the step after the reviewer", () => {
    const flow = reviewing(config, ["planner", "coder", "reviewer", "scribe"]);
    flow.send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: null, report: needsChangesReport }));
    expect(flow.runJob({ commitSha: "c0ffee2" })).toEqual([
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n3", role: "scribe", baseSha: "c0ffee2" },
    ]);
    expect(flow.task.pipeline).toMatchObject({ index: 3, purpose: "pipeline", feedback: null });
  });

  test("revisions are bounded by maxReviewRevisions: a later 'needs changes' is posted and the pipeline goes on", () => {
    const flow = reviewing(config, ["coder", "reviewer", "security"], 1);
    flow.send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: null, report: needsChangesReport }));
    flow.runJob({ commitSha: "c0ffee2" });
    expect(flow.task).toMatchObject({ step: "security", pipeline: { index: 2, reviewRevisions: 1 } });
    const effects = flow.runJob({
      commitSha: null,
      report: { status: "needs_changes", body: "Token in a log line.", review: null },
    });
    expect(kinds(effects)).toEqual(["post_review", "upsert_status_comment", "schedule_ci_wait"]);
    expect(flow.task).toMatchObject({ state: "awaiting_ci", pipeline: { reviewRevisions: 1 } });
  });

  test("with maxReviewRevisions 0 a 'needs changes' review only becomes a comment", () => {
    const flow = reviewing({ ...config, maxReviewRevisions: 0 });
    const effects = flow.send((task) => ({
      ...events.jobFinished,
      jobId: task.jobId!,
      commitSha: null,
      report: needsChangesReport,
    }));
    expect(kinds(effects)).toEqual(["post_review", "upsert_status_comment", "schedule_ci_wait"]);
    expect(flow.task.pipeline.reviewRevisions).toBe(0);
  });

  test("a revision stopped by a freeze starts over with the same purpose and feedback", () => {
    const flow = reviewing();
    flow.send((task) => ({ ...events.jobFinished, jobId: task.jobId!, commitSha: null, report: needsChangesReport }));
    const feedback = flow.task.pipeline.feedback;
    flow.send((task) => ({ ...events.jobFailed, jobId: task.jobId!, code: "AGENT_STOPPED", message: "stopped" }));
    expect(flow.task).toMatchObject({
      state: "awaiting_agent",
      step: "coder",
      jobId: "job-n2",
      pipeline: { purpose: "review_revision", feedback },
    });
    expect(flow.task.pipeline.steps.map((step) => [step.jobId, step.status])).toEqual([
      ["job-1", "succeeded"],
      ["job-n1", "stopped"],
      ["job-n2", "queued"],
    ]);
  });
});

describe("steps that must change something", () => {
  test("a coder that changed nothing fails the task with AGENT_NO_CHANGES", () => {
    const { next, effects } = transition(
      makeTask("running"),
      { ...events.jobFinished, commitSha: null, summary: "Nothing to do." },
      now,
      facts,
    );
    expect(next).toMatchObject({
      state: "failed",
      jobId: null,
      reason: {
        code: "AGENT_NO_CHANGES",
        message: "The coder step finished without changing anything. Its summary: Nothing to do.",
      },
    });
    expect(effects).toEqual([{ kind: "upsert_status_comment" }, { kind: "upsert_check_run" }]);
  });

  test("a ci_fixer that changed nothing fails the same way", () => {
    const task = makeTask("running", {
      step: "ci_fixer",
      pipeline: { ...makeTask("running").pipeline, purpose: "ci_fix" },
    });
    const { next } = transition(task, { ...events.jobFinished, commitSha: null, summary: "Flaky." }, now, facts);
    expect(next?.reason).toEqual({
      code: "AGENT_NO_CHANGES",
      message: "The ci_fixer step finished without changing anything. Its summary: Flaky.",
    });
  });

  test.each(["planner", "reviewer", "security"])("a %s without changes goes on", (role) => {
    const task = makeTask("running", {
      step: role,
      pipeline: { ...makeTask("running").pipeline, roles: [role, "coder"], index: 0 },
    });
    const { next } = transition(task, { ...events.jobFinished, commitSha: null }, now, facts);
    expect(next).toMatchObject({ state: "awaiting_agent", step: "coder", headSha: "head-1", reason: null });
  });

  test("a step without a role on record is treated as the coder", () => {
    const { next } = transition(
      makeTask("running", { step: null }),
      { ...events.jobFinished, commitSha: null },
      now,
      facts,
    );
    expect(next?.reason?.code).toBe("AGENT_NO_CHANGES");
  });
});

describe("per-type pipelines (config.pipeline)", () => {
  const custom: TaskConfig = {
    ...config,
    pipeline: { default: ["planner", "coder", "reviewer"], bugfix: ["coder"], docs: ["scribe", "reviewer"] },
  };

  test("a bugfix runs only its coder, and goes to CI after it", () => {
    const flow = new Flow(makeTask("queued"));
    flow.send({ ...events.authorized, config: custom });
    expect(flow.task.pipeline.roles).toEqual(["coder"]);
    flow.send(events.branchReady);
    expect(flow.send(events.prOpened).at(-1)).toEqual({
      kind: "dispatch_agent_job",
      jobId: "job-n3",
      role: "coder",
      baseSha: "h",
    });
    expect(kinds(flow.runJob({ commitSha: "c0ffee" }))).toEqual(["upsert_status_comment", "schedule_ci_wait"]);
    expect(flow.task.state).toBe("awaiting_ci");
  });

  test("a type the config names gets its pipeline; another type gets `default`", () => {
    const docs = transition(
      makeTask("queued", { triggerLabel: "agent:docs" }),
      { ...events.authorized, config: custom },
      now,
      facts,
    ).next;
    expect(docs).toMatchObject({ type: "docs", pipeline: { roles: ["scribe", "reviewer"] } });
    const feature = transition(
      makeTask("queued", { triggerLabel: "agent:feature" }),
      { ...events.authorized, config: custom },
      now,
      facts,
    ).next;
    expect(feature).toMatchObject({ type: "feature", pipeline: { roles: ["planner", "coder", "reviewer"] } });
  });

  test("a config without any pipeline falls back to planner → coder → reviewer", () => {
    const next = transition(
      makeTask("queued"),
      { ...events.authorized, config: { ...config, pipeline: {} } },
      now,
      facts,
    ).next;
    expect(next?.pipeline.roles).toEqual(["planner", "coder", "reviewer"]);
  });

  test("an empty pipeline goes straight to CI on the plan commit", () => {
    const task = preparing(config, []);
    const { next, effects } = transition(task, events.prOpened, now, facts);
    expect(next).toMatchObject({ state: "awaiting_ci", pipeline: { waitingCiSha: "head-1" } });
    expect(effects.filter((effect) => effect.kind === "schedule_ci_wait")).toEqual([
      { kind: "schedule_ci_wait", sha: "head-1", afterMs: 30 * 60_000 },
    ]);
    expect(effects.some((effect) => effect.kind === "dispatch_agent_job")).toBe(false);
  });

  test("a step is dispatched on the base when the branch head is unknown, and the task fails when neither is", () => {
    const onBase = transition({ ...preparing(config, ["coder"]), headSha: null }, events.prOpened, now, facts);
    expect(onBase.effects.at(-1)).toEqual({
      kind: "dispatch_agent_job",
      jobId: "job-new",
      role: "coder",
      baseSha: "base-1",
    });
    const lost = transition(
      { ...preparing(config, ["coder"]), headSha: null, baseSha: null },
      events.prOpened,
      now,
      facts,
    );
    expect(lost.next).toMatchObject({
      state: "failed",
      reason: { code: "INTERNAL_ERROR", message: "Foreman lost track of the branch head; start again." },
    });
  });
});

describe("job events that do not belong", () => {
  test("a job that finished for a task no longer waiting for it changes nothing", () => {
    const task = makeTask("awaiting_ci", { jobId: "job-1" });
    expect(transition(task, events.jobFinished, now, facts)).toEqual({ next: task, effects: [] });
    expect(transition(task, events.jobFailed, now, facts)).toEqual({ next: task, effects: [] });
  });

  test("a late duplicate of a job's end is stale once the next step is queued", () => {
    const flow = new Flow(makeTask("running"));
    flow.send(events.jobFinished);
    const after = flow.task;
    expect(transition(after, events.jobFinished, now, facts).next).toBe(after);
  });

  test("a budget over its limit in minutes or dollars says so", () => {
    const minutes = transition(
      makeTask("running", {
        config: { ...config, budgets: { agentMinutes: 1, tokens: null, costUsd: null } },
        usage: { agentMs: 120_000, tokens: 0, costUsd: 0 },
      }),
      events.jobFinished,
      now,
      facts,
    );
    expect(minutes.next?.reason?.message).toBe(
      "Agents have worked 2 minutes on this task, over its budget of 1 minutes. The work done so far is pushed to the task's branch and stays on the draft pull request. Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.",
    );
    const dollars = transition(
      makeTask("running", {
        config: { ...config, budgets: { agentMinutes: 60, tokens: null, costUsd: 0.25 } },
        usage: { agentMs: 0, tokens: 0, costUsd: 0.5 },
      }),
      events.jobFinished,
      now,
      facts,
    );
    expect(dollars.next?.reason?.message).toBe(
      "Agents spent $0.51, over the task's budget of $0.25. The work done so far is pushed to the task's branch and stays on the draft pull request. Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.",
    );
  });

  test("a job that ran out of budget, or a push that failed, says so", () => {
    const budget = transition(
      makeTask("running"),
      { ...events.jobFailed, code: "BUDGET_EXCEEDED", message: "The agent ran out of time." },
      now,
      facts,
    );
    expect(budget.next?.reason).toEqual({
      code: "BUDGET_EXCEEDED",
      message:
        "The agent ran out of time. Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.",
    });
    const push = transition(
      makeTask("running"),
      { ...events.jobFailed, code: "PUSH_FAILED", message: "GitHub refused the push.", logTail: "" },
      now,
      facts,
    );
    expect(push.next?.reason).toEqual({ code: "INFRASTRUCTURE_ERROR", message: "GitHub refused the push." });
  });

  test("a job that failed after the egress proxy refused it names what was refused on the issue and, once, on the PR", () => {
    const refused = ["registry.npmjs.org:443", "registry.npmjs.org:443", "169.254.169.254:80"];
    const failed = transition(
      makeTask("running"),
      {
        ...events.jobFailed,
        code: "AGENT_EXIT_NONZERO",
        message: "The agent exited with code 1. The agent tried to reach … (named by the runner).",
        egressRefused: refused,
      },
      now,
      facts,
    );
    const comment = failed.effects.find((effect) => effect.kind === "post_pr_comment");
    expect(comment).toMatchObject({ marker: "foreman:egress:job-1", prNumber: makeTask("running").prNumber });
    expect((comment as { body: string }).body).toContain(
      "The agent tried to reach `registry.npmjs.org:443`, `169.254.169.254:80`, which its profile does not allow",
    );
    // A coder that changed nothing: the reason names them, and so does the PR.
    const nothing = transition(
      makeTask("running"),
      { ...events.jobFinished, commitSha: null, egressRefused: ["registry.npmjs.org:443"] },
      now,
      facts,
    );
    expect(nothing.next?.reason?.code).toBe("AGENT_NO_CHANGES");
    expect(nothing.next?.reason?.message).toContain("`registry.npmjs.org:443`, which its profile does not allow");
    expect(nothing.effects.filter((effect) => effect.kind === "post_pr_comment")).toHaveLength(1);
    // Nothing refused: no comment.
    const plain = transition(makeTask("running"), events.jobFailed, now, facts);
    expect(plain.effects.some((effect) => effect.kind === "post_pr_comment")).toBe(false);
  });

  test("a rejected diff of a task without a PR (shadow mode) is only explained in the status comment", () => {
    const { effects } = transition(
      makeTask("running", { prNumber: null }),
      { ...events.jobFailed, code: "GUARDRAIL_REJECTED" },
      now,
      facts,
    );
    expect(effects).toEqual([{ kind: "upsert_status_comment" }]);
  });
});
