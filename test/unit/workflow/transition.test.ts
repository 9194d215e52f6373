import { describe, expect, test } from "vitest";
import { TaskState, type TaskState as State } from "../../../src/workflow/states.js";
import { transition } from "../../../src/workflow/transition.js";
import { events, facts, makeTask, now, type EventName } from "./fixtures.js";

const ALL_EVENTS = Object.keys(events) as EventName[];

/** Expected outcome: the next state and effect kinds, or "same" for an ignored event. */
type Expected = "same" | [State, string[]];

const STOP: string[] = ["upsert_status_comment"];

// The whole table for the three working states. Every state × event pair is listed on purpose:
// a new event or state must make someone decide what it means here.
const STOP_JOB: string[] = ["upsert_status_comment", "cancel_agent_job"];
const NO_JOB_EVENTS = { jobStarted: "same", jobFinished: "same", jobFailed: "same" } as const;

const ACTIVE_TABLE: Record<"queued" | "preparing" | "awaiting_agent" | "running" | "awaiting_ci", Record<EventName, Expected>> = {
  queued: {
    freezeOnIssue: ["frozen", STOP], otherIssueLabel: "same", triggerAgain: "same", freezeOnPr: ["frozen", STOP],
    removeTrigger: ["cancelled", STOP], removeOtherLabel: "same", unfreezeIssue: "same", unfreezePr: "same", reopened: "same",
    closed: ["cancelled", STOP], prMerged: ["merged", STOP], prClosed: ["closed", STOP],
    authorized: ["preparing", ["ensure_branch", "open_draft_pr"]], rejectedSender: ["cancelled", STOP], rejectedConfig: ["failed", STOP], rejectedNotTrigger: ["cancelled", []],
    branchReady: "same", prOpened: "same", effectFailed: ["failed", STOP], statusFailed: ["failed", []], ...NO_JOB_EVENTS,
  },
  preparing: {
    freezeOnIssue: ["frozen", STOP], otherIssueLabel: "same", triggerAgain: "same", freezeOnPr: ["frozen", STOP],
    removeTrigger: ["cancelled", STOP], removeOtherLabel: "same", unfreezeIssue: "same", unfreezePr: "same", reopened: "same",
    closed: ["cancelled", STOP], prMerged: ["merged", STOP], prClosed: ["closed", STOP],
    authorized: "same", rejectedSender: "same", rejectedConfig: "same", rejectedNotTrigger: "same",
    branchReady: ["preparing", []], prOpened: ["awaiting_agent", ["add_labels", "upsert_status_comment", "dispatch_agent_job"]],
    effectFailed: ["failed", STOP], statusFailed: ["failed", []], ...NO_JOB_EVENTS,
  },
  // A queued job is withdrawn when the task ends, but waits through a freeze (the runner skips frozen tasks).
  awaiting_agent: {
    freezeOnIssue: ["frozen", STOP], otherIssueLabel: "same", triggerAgain: "same", freezeOnPr: ["frozen", STOP],
    removeTrigger: ["cancelled", STOP_JOB], removeOtherLabel: "same", unfreezeIssue: "same", unfreezePr: "same", reopened: "same",
    closed: ["cancelled", STOP_JOB], prMerged: ["merged", STOP_JOB], prClosed: ["closed", STOP_JOB],
    authorized: "same", rejectedSender: "same", rejectedConfig: "same", rejectedNotTrigger: "same",
    branchReady: "same", prOpened: "same", effectFailed: ["failed", STOP_JOB], statusFailed: ["failed", ["cancel_agent_job"]],
    jobStarted: ["running", STOP], jobFinished: ["awaiting_ci", STOP], jobFailed: ["failed", STOP],
  },
  // A running container is stopped by a freeze and by anything that ends the task.
  running: {
    freezeOnIssue: ["frozen", STOP_JOB], otherIssueLabel: "same", triggerAgain: "same", freezeOnPr: ["frozen", STOP_JOB],
    removeTrigger: ["cancelled", STOP_JOB], removeOtherLabel: "same", unfreezeIssue: "same", unfreezePr: "same", reopened: "same",
    closed: ["cancelled", STOP_JOB], prMerged: ["merged", STOP_JOB], prClosed: ["closed", STOP_JOB],
    authorized: "same", rejectedSender: "same", rejectedConfig: "same", rejectedNotTrigger: "same",
    branchReady: "same", prOpened: "same", effectFailed: ["failed", STOP_JOB], statusFailed: ["failed", ["cancel_agent_job"]],
    jobStarted: "same", jobFinished: ["awaiting_ci", STOP], jobFailed: ["failed", STOP],
  },
  awaiting_ci: {
    freezeOnIssue: ["frozen", STOP], otherIssueLabel: "same", triggerAgain: "same", freezeOnPr: ["frozen", STOP],
    removeTrigger: ["cancelled", STOP], removeOtherLabel: "same", unfreezeIssue: "same", unfreezePr: "same", reopened: "same",
    closed: ["cancelled", STOP], prMerged: ["merged", STOP], prClosed: ["closed", STOP],
    authorized: "same", rejectedSender: "same", rejectedConfig: "same", rejectedNotTrigger: "same",
    branchReady: "same", prOpened: "same", effectFailed: ["failed", STOP], statusFailed: ["failed", []], ...NO_JOB_EVENTS,
  },
};

describe("transition: working states × every event", () => {
  const rows = Object.entries(ACTIVE_TABLE).flatMap(([state, table]) =>
    ALL_EVENTS.map((name) => ({ state: state as State, name, expected: table[name as EventName] })),
  );
  test.each(rows)("$state + $name", ({ state, name, expected }) => {
    const task = makeTask(state);
    const result = transition(task, events[name], now, facts);
    if (expected === "same") {
      expect(result.next).toBe(task);
      expect(result.effects).toEqual([]);
      return;
    }
    const [nextState, effectKinds] = expected;
    expect(result.next?.state).toBe(nextState);
    expect(result.effects.map((effect) => effect.kind)).toEqual(effectKinds);
    expect(result.next?.updatedAt).toBe(now.toISOString());
  });
});

describe("transition: finished states ignore everything", () => {
  const rows = (["merged", "closed", "cancelled", "failed"] as const).flatMap((state) => ALL_EVENTS.map((name) => ({ state, name })));
  test.each(rows)("$state + $name", ({ state, name }) => {
    const task = makeTask(state);
    expect(transition(task, events[name], now, facts)).toEqual({ next: task, effects: [] });
  });
});

describe("transition: no task yet", () => {
  test("an agent: label starts a queued task that first authorises the sender", () => {
    const { next, effects } = transition(null, events.triggerAgain, now, facts);
    expect(next).toMatchObject({ id: "task-new", state: "queued", type: "bugfix", triggerLabel: "agent:bugfix", triggeredBy: "bob", issueNumber: 5, config: null });
    expect(effects).toEqual([{ kind: "authorize_trigger", sender: "bob", label: "agent:bugfix" }]);
  });

  test("a custom trigger label is recognised from the recently read config, and any label is a candidate when it was not read lately", () => {
    const label = { ...events.otherIssueLabel, label: "bot-please" };
    expect(transition(null, label, now, facts).next).toBeNull();
    expect(transition(null, label, now, { ...facts, knownTriggerLabels: ["bot-please"] }).next).toMatchObject({ state: "queued", type: "ready" });
    expect(transition(null, label, now, { ...facts, knownTriggerLabels: null }).next).toMatchObject({ state: "queued", triggerLabel: "bot-please" });
    // Reopening never reads the config for unrelated labels.
    expect(transition(null, { ...events.reopened, labels: ["bot-please"] }, now, { ...facts, knownTriggerLabels: null }).next).toBeNull();
  });

  test("a reopened issue still carrying an agent label starts a fresh task", () => {
    expect(transition(null, events.reopened, now, facts).next).toMatchObject({ state: "queued", triggerLabel: "agent:bugfix" });
    expect(transition(null, { ...events.reopened, labels: ["bug"] }, now, facts).next).toBeNull();
  });

  test.each(ALL_EVENTS.filter((name) => name !== "triggerAgain" && name !== "reopened"))("%s alone starts nothing", (name) => {
    expect(transition(null, events[name], now, facts)).toEqual({ next: null, effects: [] });
  });
});

describe("transition: details of the working path", () => {
  test("authorisation takes the type from the repo config and plans branch, commit and draft PR", () => {
    const { next, effects } = transition(makeTask("queued"), events.authorized, now, facts);
    expect(next).toMatchObject({ state: "preparing", type: "bugfix", branch: "agent/5-fix-the-login-redirect" });
    expect(effects).toMatchInlineSnapshot(`
      [
        {
          "baseBranch": "main",
          "branch": "agent/5-fix-the-login-redirect",
          "kind": "ensure_branch",
          "planMessage": "Plan: Fix the login redirect

      Foreman starts work on #5. This empty commit opens the branch; agent steps follow.",
        },
        {
          "baseBranch": "main",
          "body": "Closes #5

      Foreman opened this draft for the \`agent:bugfix\` label added by @alice.
      Agents push their work here as verified commits; the bot never approves or merges.

      Add the \`needs-human-review\` label to freeze it; remove the agent label from the issue to cancel.",
          "branch": "agent/5-fix-the-login-redirect",
          "kind": "open_draft_pr",
          "title": "Fix the login redirect",
        },
      ]
    `);
  });

  test("a label the repo config does not list ends the task silently", () => {
    const config = { ...events.authorized.config, triggerLabels: { "bot-please": "feature" as const } };
    const { next, effects } = transition(makeTask("queued"), { ...events.authorized, config }, now, facts);
    expect(next).toMatchObject({ state: "cancelled", reason: { code: "NOT_A_TRIGGER" } });
    expect(effects).toEqual([]);
  });

  test("a configured freeze label replaces the default one", () => {
    const task = makeTask("awaiting_agent", { config: { ...events.authorized.config, freezeLabel: "hold" } });
    expect(transition(task, events.freezeOnIssue, now, facts).next).toBe(task);
    expect(transition(task, { ...events.freezeOnIssue, label: "hold" }, now, facts).next?.state).toBe("frozen");
  });

  test("an opened PR without configured PR labels updates the comment and queues the coder", () => {
    const task = makeTask("preparing", { config: { ...events.authorized.config, prLabels: [] } });
    const { next, effects } = transition(task, events.prOpened, now, facts);
    expect(effects).toEqual([{ kind: "upsert_status_comment" }, { kind: "dispatch_agent_job", jobId: "job-new", role: "coder", baseSha: "head-1" }]);
    expect(next).toMatchObject({ state: "awaiting_agent", step: "coder", jobId: "job-new" });
  });

  test("a Foreman fault is reported as one, not as a GitHub problem", () => {
    const { next } = transition(makeTask("preparing"), { ...events.effectFailed, code: "INTERNAL", message: "Foreman hit an internal error: x" }, now, facts);
    expect(next?.reason).toEqual({ code: "INTERNAL_ERROR", message: "Foreman hit an internal error: x" });
  });

  test("the reason says who did what", () => {
    expect(transition(makeTask("awaiting_agent"), events.removeTrigger, now, facts).next?.reason).toEqual({
      code: "AGENT_LABEL_REMOVED",
      message: "@bob removed the `agent:bugfix` label, so Foreman stopped. The branch and any PR are left for you.",
    });
  });
});

describe("transition: agent jobs", () => {
  test("a finished job that pushed moves the task to awaiting_ci with the new head and adds its usage", () => {
    const { next } = transition(makeTask("running"), events.jobFinished, now, facts);
    expect(next).toMatchObject({ state: "awaiting_ci", headSha: "c0ffee", jobId: null, usage: { agentMs: 1000, tokens: 10, costUsd: 0.01 } });
  });

  test("a job that changed nothing fails the task with the agent's summary", () => {
    const { next } = transition(makeTask("running"), { ...events.jobFinished, commitSha: null }, now, facts);
    expect(next?.reason).toEqual({ code: "AGENT_NO_CHANGES", message: "The coder step finished without changing anything. Its summary: Fixed it." });
  });

  test("a failed job fails the task with its message and the log tail as detail", () => {
    const { next } = transition(makeTask("running"), events.jobFailed, now, facts);
    expect(next?.reason).toEqual({ code: "AGENT_FAILED", message: "The agent exited with 1.", detail: "boom" });
  });

  test("a rejected diff is explained on the PR, and nothing else is written", () => {
    const { effects } = transition(makeTask("running"), { ...events.jobFailed, code: "GUARDRAIL_REJECTED", message: "2 files changed under .github/workflows/**." }, now, facts);
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      {
        kind: "post_pr_comment",
        prNumber: 9,
        marker: "foreman:guardrails:job-1",
        body: "### 🛑 Foreman did not push the coder step's changes\n\n2 files changed under .github/workflows/**.\n\nNothing was pushed to this branch.",
      },
    ]);
  });

  test("a failure of Foreman's host after its retries is reported as such, not as the agent's", () => {
    const { next } = transition(makeTask("running"), { ...events.jobFailed, code: "INFRA_DOCKER_UNAVAILABLE", message: "Docker could not create a job container (is the Docker daemon running and reachable at DOCKER_HOST?): connect ENOENT" }, now, facts);
    expect(next?.reason).toEqual({
      code: "INFRASTRUCTURE_ERROR",
      message: "Docker could not create a job container (is the Docker daemon running and reachable at DOCKER_HOST?): connect ENOENT",
      detail: "boom",
    });
  });

  test("configuration problems (unknown profile, missing secret, image not allowed) say so as such", () => {
    const { next } = transition(makeTask("awaiting_agent"), { ...events.jobFailed, code: "PROFILE_SECRET_MISSING", message: "ANTHROPIC_API_KEY is not set." }, now, facts);
    expect(next?.reason).toEqual({ code: "AGENT_CONFIG_ERROR", message: "ANTHROPIC_API_KEY is not set." });
  });

  test("a job stopped for a freeze is queued again, to run on resume", () => {
    const task = makeTask(TaskState.frozen, { resumeState: "running", frozenBy: "bob", frozenOn: "issue", headSha: "head-1", step: "coder", jobId: "job-1" });
    const { next, effects } = transition(task, { ...events.jobFailed, code: "AGENT_STOPPED" }, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "awaiting_agent", jobId: "job-new", step: "coder" });
    expect(effects).toEqual([{ kind: "upsert_status_comment" }, { kind: "dispatch_agent_job", jobId: "job-new", role: "coder", baseSha: "head-1" }]);
  });

  test("going over a budget stops the task and says which", () => {
    const task = makeTask("running", { config: { ...events.authorized.config, budgets: { agentMinutes: 60, tokens: 5, costUsd: null } } });
    const { next } = transition(task, events.jobFinished, now, facts);
    expect(next).toMatchObject({ state: "failed", headSha: "c0ffee", reason: { code: "BUDGET_EXCEEDED" } });
    expect(next?.reason?.message).toBe("Agents used 10 tokens, over the task's budget of 5. Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.");
  });

  test("events of an older job are stale", () => {
    const task = makeTask("running");
    expect(transition(task, { ...events.jobFinished, jobId: "job-0" }, now, facts).next).toBe(task);
    expect(transition(task, { ...events.jobFailed, jobId: "job-0" }, now, facts).next).toBe(task);
  });
});

describe("transition: frozen", () => {
  const frozenOnIssue = (resumeState: State) => makeTask(TaskState.frozen, { resumeState, frozenBy: "bob", frozenOn: "issue", headSha: "head-1" });

  test("removing the freeze label where it was put resumes where the task stopped", () => {
    const { next, effects } = transition(frozenOnIssue("preparing"), events.unfreezeIssue, now, facts);
    expect(next).toMatchObject({ state: "preparing", resumeState: null, frozenBy: null, frozenOn: null });
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment"]);
  });

  test("removing it from the other place does not unfreeze", () => {
    const task = frozenOnIssue("preparing");
    expect(transition(task, events.unfreezePr, now, facts).next).toBe(task);
  });

  test("a PR freeze is lifted on the PR", () => {
    const task = makeTask(TaskState.frozen, { resumeState: "awaiting_agent", frozenBy: "bob", frozenOn: "pull_request" });
    expect(transition(task, events.unfreezePr, now, facts).next?.state).toBe("awaiting_agent");
  });

  test("a second freeze label changes nothing", () => {
    const task = frozenOnIssue("awaiting_agent");
    expect(transition(task, events.freezeOnPr, now, facts).next).toBe(task);
  });

  test("results that arrive while frozen are kept, and their effects wait in the outbox", () => {
    const { next, effects } = transition(frozenOnIssue("preparing"), events.prOpened, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "awaiting_agent", prNumber: 9 });
    expect(effects.map((effect) => effect.kind)).toEqual(["add_labels", "upsert_status_comment", "dispatch_agent_job"]);
  });

  test("authorisation while frozen moves the resume point to preparing", () => {
    const { next } = transition(frozenOnIssue("queued"), events.authorized, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "preparing" });
  });

  test.each(["closed", "removeTrigger", "prMerged", "rejectedConfig"] as const)("%s ends a frozen task and replaces the frozen comment", (name) => {
    const { next, effects } = transition(frozenOnIssue("queued"), events[name], now, facts);
    expect(["cancelled", "merged", "failed"]).toContain(next?.state);
    expect(next?.resumeState).toBeNull();
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment"]);
  });

  test("a label the config does not list, found while frozen, still updates the frozen comment", () => {
    const config = { ...events.authorized.config, triggerLabels: { "bot-please": "feature" as const } };
    const { next, effects } = transition(frozenOnIssue("queued"), { ...events.authorized, config }, now, facts);
    expect(next).toMatchObject({ state: "cancelled", reason: { code: "NOT_A_TRIGGER" } });
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment"]);
  });

  test.each(["otherIssueLabel", "reopened", "branchReady"] as const)("%s is ignored while frozen in awaiting_agent", (name) => {
    const task = frozenOnIssue("awaiting_agent");
    expect(transition(task, events[name], now, facts).next).toBe(task);
  });
});
