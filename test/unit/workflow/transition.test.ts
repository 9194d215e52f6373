import { describe, expect, test } from "vitest";
import { isCodeRole, withConfigDefaults } from "../../../src/workflow/defaults.js";
import { findEventActor } from "../../../src/workflow/events.js";
import { isActiveState, isTerminalState, type TaskState as State } from "../../../src/workflow/states.js";
import type { Task, TaskConfig } from "../../../src/workflow/task.js";
import { transition } from "../../../src/workflow/transition.js";
import { ALL_EVENTS, events, facts, makeFrozenTask, makeTask, now, type EventName } from "./fixtures.js";

/**
 * Expected outcome: "same" for an ignored event (the same task object, no effects); `{ keep }` when
 * the task is unchanged but effects are asked for (a permission check, an answer); otherwise the
 * next state and the effect kinds, in order.
 */
type Expected = "same" | { keep: string[] } | [State, string[]];

const keep = (...kinds: string[]): Expected => ({ keep: kinds });

/** The status comment alone (no PR yet, or a freeze: nothing but the comment). */
const STATUS: string[] = ["upsert_status_comment"];
/** `display()` of a task with a PR: the status comment and the check run. */
const SHOW: string[] = ["upsert_status_comment", "upsert_check_run"];
/** Ending a task whose step's job is queued or running. */
const SHOW_JOB: string[] = [...SHOW, "cancel_agent_job"];
const DISPATCH = "dispatch_agent_job";

// Every state × event pair below is listed on purpose: a new event or state must make someone
// decide what it means here. Groups are spread only where the answer is the same for the same reason.

/** Labels and label removals that mean nothing to a working task (a second agent label included). */
const IGNORED_LABELS = {
  otherIssueLabel: "same",
  triggerAgain: "same",
  removeOtherLabel: "same",
  unfreezeIssue: "same",
  unfreezePr: "same",
  reopened: "same",
} as const;
/**
 * What Foreman never acts on: its own pushes and reviews, approvals, suites of another SHA or (but
 * while it waits for CI) of an app that is not CI, a refused review.
 */
const NEVER_ACTED_ON = {
  botPush: "same",
  appPush: "same",
  approved: "same",
  botReview: "same",
  suiteOtherSha: "same",
  suiteOtherApp: "same",
  refusedReview: "same",
} as const;
/** Results of authorising the trigger, which only a queued task waits for. */
const AFTER_AUTHORISATION = {
  authorized: "same",
  rejectedSender: "same",
  rejectedConfig: "same",
  rejectedNotTrigger: "same",
} as const;
/** Every command first checks the sender's permission; status, explain and a refusal are answered in any working state. */
const COMMANDS = {
  cmdStatus: keep("authorize_actor"),
  cmdExplain: keep("authorize_actor"),
  cmdStop: keep("authorize_actor"),
  cmdRetry: keep("authorize_actor"),
  allowedStatus: keep("answer_command"),
  allowedExplain: keep("answer_command"),
  refusedCommand: keep("answer_command"),
} as const;
/** Job events for a task that has no job. */
const NO_JOB_EVENTS = { jobStarted: "same", jobFinished: "same", jobFailed: "same" } as const;
/** CI events for a task that does not wait for CI. */
const NO_CI_EVENTS = {
  suiteOnHead: "same",
  ciSuccess: "same",
  ciFailure: "same",
  ciPending: "same",
  ciWaitExpired: "same",
} as const;
/** Results of the work before the pipeline, which only a preparing task waits for. */
const AFTER_PREPARING = { branchReady: "same", baseResolved: "same", prOpened: "same" } as const;

type WorkingState =
  "queued" | "waiting" | "preparing" | "awaiting_agent" | "running" | "awaiting_ci" | "ready_for_review" | "escalated";

const ACTIVE_TABLE: Record<WorkingState, Record<EventName, Expected>> = {
  // A candidate: the trigger check has not judged its label (it may be anybody's `bug`). Whatever
  // happens to it, it writes nothing to GitHub; only the check's own verdict may speak.
  queued: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...NO_JOB_EVENTS,
    ...NO_CI_EVENTS,
    ...AFTER_PREPARING,
    // Commands about a candidate meet the silence an issue without a task does: not even the permission read.
    cmdStatus: "same",
    cmdExplain: "same",
    cmdStop: "same",
    cmdRetry: "same",
    allowedStatus: "same",
    allowedExplain: "same",
    refusedCommand: "same",
    freezeOnIssue: ["frozen", []],
    freezeOnPr: ["frozen", []],
    priorityHigh: ["queued", []],
    removeTrigger: ["cancelled", []],
    closed: ["cancelled", []],
    prMerged: ["merged", []],
    prClosed: ["closed", []],
    authorized: ["preparing", ["ensure_branch", "open_draft_pr"]],
    rejectedSender: ["cancelled", STATUS],
    rejectedConfig: ["failed", STATUS],
    rejectedNotTrigger: ["cancelled", []],
    repoTurnedGreen: "same",
    effectFailed: ["failed", []],
    statusFailed: ["failed", []],
    humanPush: "same",
    changesRequested: "same",
    allowedStop: ["cancelled", []],
    allowedRetry: "same",
    allowedReview: "same",
  },
  // Red mode: a non-bugfix task (label agent:feature) waits for the default branch to turn green.
  waiting: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...NO_JOB_EVENTS,
    ...NO_CI_EVENTS,
    ...AFTER_PREPARING,
    freezeOnIssue: ["frozen", STATUS],
    freezeOnPr: ["frozen", STATUS],
    priorityHigh: ["waiting", []],
    // The fixture's removed label is agent:bugfix, not this task's agent:feature (red-and-shadow.test.ts removes its own).
    removeTrigger: "same",
    closed: ["cancelled", STATUS],
    prMerged: ["merged", [...STATUS, "record_merge"]],
    prClosed: ["closed", STATUS],
    repoTurnedGreen: ["preparing", ["ensure_branch", "open_draft_pr"]],
    effectFailed: ["failed", STATUS],
    statusFailed: ["failed", []],
    humanPush: "same",
    changesRequested: "same",
    allowedStop: ["cancelled", STATUS],
    allowedRetry: keep("answer_command"),
    allowedReview: "same",
  },
  preparing: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...NO_JOB_EVENTS,
    ...NO_CI_EVENTS,
    freezeOnIssue: ["frozen", STATUS],
    freezeOnPr: ["frozen", STATUS],
    priorityHigh: ["preparing", []],
    removeTrigger: ["cancelled", STATUS],
    closed: ["cancelled", STATUS],
    prMerged: ["merged", [...STATUS, "record_merge"]],
    prClosed: ["closed", STATUS],
    repoTurnedGreen: "same",
    branchReady: ["preparing", []],
    // Shadow mode's base read starts the pipeline without a PR (so no check run).
    baseResolved: ["awaiting_agent", [...STATUS, DISPATCH]],
    prOpened: ["awaiting_agent", ["add_labels", ...SHOW, DISPATCH]],
    effectFailed: ["failed", STATUS],
    statusFailed: ["failed", []],
    humanPush: "same",
    changesRequested: "same",
    allowedStop: ["cancelled", STATUS],
    allowedRetry: keep("answer_command"),
    allowedReview: "same",
  },
  // The coder step's job is queued. It is withdrawn when the task ends, but waits through a freeze (the runner skips frozen tasks).
  awaiting_agent: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...AFTER_PREPARING,
    freezeOnIssue: ["frozen", STATUS],
    freezeOnPr: ["frozen", STATUS],
    priorityHigh: ["awaiting_agent", []],
    removeTrigger: ["cancelled", SHOW_JOB],
    closed: ["cancelled", SHOW_JOB],
    prMerged: ["merged", [...SHOW_JOB, "record_merge"]],
    prClosed: ["closed", SHOW_JOB],
    repoTurnedGreen: "same",
    effectFailed: ["failed", SHOW_JOB],
    statusFailed: ["failed", ["cancel_agent_job"]],
    // The coder's work done: the reviewer step is next.
    // Between milestones only the check run is redrawn.
    jobStarted: ["running", ["upsert_check_run"]],
    jobFinished: ["awaiting_agent", ["upsert_check_run", DISPATCH]],
    jobFailed: ["failed", SHOW],
    // A step is under way: the human's commit becomes the head (a code step's push runs again on top of it).
    humanPush: ["awaiting_agent", []],
    changesRequested: keep("authorize_actor"),
    // A CI suite on the head while a step runs is remembered for later.
    suiteOnHead: ["awaiting_agent", []],
    ciSuccess: "same",
    ciFailure: "same",
    ciPending: "same",
    ciWaitExpired: "same",
    allowedStop: ["cancelled", SHOW_JOB],
    allowedRetry: keep("answer_command"),
    allowedReview: ["awaiting_agent", []],
  },
  // A running container is stopped by a freeze and by anything that ends the task.
  running: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...AFTER_PREPARING,
    freezeOnIssue: ["frozen", [...STATUS, "cancel_agent_job"]],
    freezeOnPr: ["frozen", [...STATUS, "cancel_agent_job"]],
    priorityHigh: ["running", []],
    removeTrigger: ["cancelled", SHOW_JOB],
    closed: ["cancelled", SHOW_JOB],
    prMerged: ["merged", [...SHOW_JOB, "record_merge"]],
    prClosed: ["closed", SHOW_JOB],
    repoTurnedGreen: "same",
    effectFailed: ["failed", SHOW_JOB],
    statusFailed: ["failed", ["cancel_agent_job"]],
    jobStarted: "same",
    jobFinished: ["awaiting_agent", ["upsert_check_run", DISPATCH]],
    jobFailed: ["failed", SHOW],
    humanPush: ["running", []],
    changesRequested: keep("authorize_actor"),
    suiteOnHead: ["running", []],
    ciSuccess: "same",
    ciFailure: "same",
    ciPending: "same",
    ciWaitExpired: "same",
    allowedStop: ["cancelled", SHOW_JOB],
    allowedRetry: keep("answer_command"),
    allowedReview: ["running", []],
  },
  awaiting_ci: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...NO_JOB_EVENTS,
    ...AFTER_PREPARING,
    freezeOnIssue: ["frozen", STATUS],
    freezeOnPr: ["frozen", STATUS],
    priorityHigh: ["awaiting_ci", []],
    removeTrigger: ["cancelled", SHOW],
    closed: ["cancelled", SHOW],
    prMerged: ["merged", [...SHOW, "record_merge"]],
    prClosed: ["closed", SHOW],
    repoTurnedGreen: "same",
    effectFailed: ["failed", SHOW],
    statusFailed: ["failed", []],
    // A human's commit becomes the head; CI is awaited on it.
    // The check run follows the human's commit; CI is awaited on it.
    humanPush: ["awaiting_ci", [...SHOW, "schedule_ci_wait"]],
    changesRequested: keep("authorize_actor"),
    suiteOnHead: ["awaiting_ci", ["collect_ci_result"]],
    // Any app's check may be one the branch requires (ci.requiredOnly): the verdict is read again.
    suiteOtherApp: ["awaiting_ci", ["collect_ci_result"]],
    ciSuccess: ["ready_for_review", ["mark_ready_for_review", ...SHOW]],
    ciFailure: ["awaiting_agent", [...SHOW, DISPATCH]],
    ciPending: "same",
    // ci.whenMissing: wait (the default) keeps waiting and says so.
    ciWaitExpired: ["awaiting_ci", SHOW],
    allowedStop: ["cancelled", SHOW],
    allowedRetry: ["awaiting_ci", ["answer_command", "collect_ci_result"]],
    allowedReview: ["awaiting_agent", [...SHOW, DISPATCH]],
  },
  // The human's turn: Foreman only acts on a revision a human asks for, and on ending events.
  ready_for_review: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...NO_JOB_EVENTS,
    ...NO_CI_EVENTS,
    ...AFTER_PREPARING,
    freezeOnIssue: ["frozen", STATUS],
    freezeOnPr: ["frozen", STATUS],
    priorityHigh: ["ready_for_review", []],
    removeTrigger: ["cancelled", SHOW],
    closed: ["cancelled", SHOW],
    prMerged: ["merged", [...SHOW, "record_merge"]],
    prClosed: ["closed", SHOW],
    repoTurnedGreen: "same",
    effectFailed: ["failed", SHOW],
    statusFailed: ["failed", []],
    // The human's commit becomes the head the next revision starts from.
    humanPush: ["ready_for_review", SHOW],
    changesRequested: keep("authorize_actor"),
    allowedStop: ["cancelled", SHOW],
    allowedRetry: keep("answer_command"),
    allowedReview: ["awaiting_agent", [...SHOW, DISPATCH]],
  },
  escalated: {
    ...IGNORED_LABELS,
    ...NEVER_ACTED_ON,
    ...AFTER_AUTHORISATION,
    ...COMMANDS,
    ...NO_JOB_EVENTS,
    ...NO_CI_EVENTS,
    ...AFTER_PREPARING,
    // The freeze label on the *issue* is never Foreman's own (escalation labels the PR), so a human froze the task on
    // purpose; ignoring it lets a later `/foreman retry` or review run agents while the issue says "needs-human-review".
    freezeOnIssue: ["frozen", STATUS],
    // Foreman labelled the PR itself when it escalated.
    freezeOnPr: "same",
    priorityHigh: ["escalated", []],
    removeTrigger: ["cancelled", SHOW],
    closed: ["cancelled", SHOW],
    prMerged: ["merged", [...SHOW, "record_merge"]],
    prClosed: ["closed", SHOW],
    repoTurnedGreen: "same",
    effectFailed: ["failed", SHOW],
    statusFailed: ["failed", []],
    // The escalation comment says "Push a fix to this branch": CI is awaited on the human's commit.
    humanPush: ["awaiting_ci", ["remove_label", ...SHOW, "schedule_ci_wait"]],
    changesRequested: keep("authorize_actor"),
    allowedStop: ["cancelled", SHOW],
    allowedRetry: ["awaiting_agent", ["answer_command", "remove_label", ...SHOW, DISPATCH]],
    allowedReview: ["awaiting_agent", ["remove_label", ...SHOW, DISPATCH]],
  },
};

describe("transition: working states × every event", () => {
  const rows = Object.entries(ACTIVE_TABLE).flatMap(([state, table]) =>
    ALL_EVENTS.map((name) => ({ state: state as State, name, expected: table[name] })),
  );
  test.each(rows)("$state + $name", ({ state, name, expected }) => {
    const task = makeTask(state);
    const result = transition(task, events[name], now, facts);
    if (expected === "same") {
      expect(result.next).toBe(task);
      expect(result.effects).toEqual([]);
      return;
    }
    if ("keep" in expected) {
      expect(result.next).toBe(task);
      expect(result.effects.map((effect) => effect.kind)).toEqual(expected.keep);
      return;
    }
    const [nextState, effectKinds] = expected;
    expect(result.next?.state).toBe(nextState);
    expect(result.effects.map((effect) => effect.kind)).toEqual(effectKinds);
    expect(result.next?.updatedAt).toBe(now.toISOString());
  });
});

const FINISHED = ["merged", "closed", "completed", "cancelled", "failed"] as const;
const COMMAND_EVENTS = [
  "cmdStatus",
  "cmdExplain",
  "cmdStop",
  "cmdRetry",
  "allowedStatus",
  "allowedExplain",
  "allowedStop",
  "allowedRetry",
  "refusedCommand",
] as const;

describe("transition: finished states ignore everything but questions about them", () => {
  const rows = FINISHED.flatMap((state) =>
    ALL_EVENTS.filter((name) => !(COMMAND_EVENTS as readonly string[]).includes(name)).map((name) => ({ state, name })),
  );
  test.each(rows)("$state + $name", ({ state, name }) => {
    const task = makeTask(state);
    expect(transition(task, events[name], now, facts)).toEqual({ next: task, effects: [] });
  });

  test.each(FINISHED)("%s: a command is checked and answered, and the task does not change", (state) => {
    const task = makeTask(state);
    const answers = (name: (typeof COMMAND_EVENTS)[number]) => {
      const result = transition(task, events[name], now, facts);
      expect(result.next).toBe(task);
      return result.effects;
    };
    expect(answers("cmdStop")).toEqual([
      { kind: "authorize_actor", login: "dave", action: { kind: "command", command: "stop", commentId: 503 } },
    ]);
    expect(answers("allowedStatus")).toEqual([
      { kind: "answer_command", issueNumber: 5, answer: "status", login: "dave", command: "status", commentId: 501 },
    ]);
    expect(answers("allowedExplain")).toMatchObject([{ kind: "answer_command", answer: "explain" }]);
    expect(answers("allowedStop")).toEqual([
      {
        kind: "answer_command",
        issueNumber: 5,
        answer: "note",
        login: "dave",
        command: "stop",
        commentId: 503,
        text: `@dave: this task has already ended (\`${state}\`); there is nothing to stop.`,
      },
    ]);
    expect(answers("allowedRetry")).toMatchObject([
      {
        kind: "answer_command",
        answer: "note",
        text: expect.stringContaining("Comment `/foreman retry` on issue #5 to start a new one"),
      },
    ]);
    expect(answers("refusedCommand")).toMatchObject([{ kind: "answer_command", answer: "refusal", login: "mallory" }]);
  });
});

describe("transition: no task yet", () => {
  test("an agent: label starts a queued task that first authorises the sender", () => {
    const { next, effects } = transition(null, events.triggerAgain, now, facts);
    expect(next).toMatchObject({
      id: "task-new",
      state: "queued",
      type: "bugfix",
      triggerLabel: "agent:bugfix",
      triggeredBy: "bob",
      issueNumber: 5,
      config: null,
    });
    expect(effects).toEqual([{ kind: "authorize_trigger", sender: "bob", label: "agent:bugfix" }]);
  });

  test("a custom trigger label is recognised from the recently read config, and any label is a candidate when it was not read lately", () => {
    const label = { ...events.otherIssueLabel, label: "bot-please" };
    expect(transition(null, label, now, facts).next).toBeNull();
    expect(transition(null, label, now, { ...facts, knownTriggerLabels: ["bot-please"] }).next).toMatchObject({
      state: "queued",
      type: "ready",
    });
    expect(transition(null, label, now, { ...facts, knownTriggerLabels: null }).next).toMatchObject({
      state: "queued",
      triggerLabel: "bot-please",
    });
    // Reopening never reads the config for unrelated labels.
    expect(
      transition(null, { ...events.reopened, labels: ["bot-please"] }, now, { ...facts, knownTriggerLabels: null })
        .next,
    ).toBeNull();
  });

  test("a reopened issue still carrying an agent label starts a fresh task", () => {
    expect(transition(null, events.reopened, now, facts).next).toMatchObject({
      state: "queued",
      triggerLabel: "agent:bugfix",
    });
    expect(transition(null, { ...events.reopened, labels: ["bug"] }, now, facts).next).toBeNull();
  });

  test.each(ALL_EVENTS.filter((name) => name !== "triggerAgain" && name !== "reopened"))(
    "%s alone starts nothing",
    (name) => {
      expect(transition(null, events[name], now, facts)).toEqual({ next: null, effects: [] });
    },
  );
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

  test("an opened PR without configured PR labels shows the task and queues the pipeline's first step on the plan commit", () => {
    const task = makeTask("preparing", { config: { ...events.authorized.config, prLabels: [] } });
    const { next, effects } = transition(task, events.prOpened, now, facts);
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-new", role: "planner", baseSha: "head-1" },
    ]);
    expect(next).toMatchObject({
      state: "awaiting_agent",
      step: "planner",
      jobId: "job-new",
      prNumber: 9,
      prUrl: "https://github.com/acme/api/pull/9",
    });
    expect(next?.pipeline).toMatchObject({
      index: 0,
      purpose: "pipeline",
      feedback: null,
      steps: [
        { role: "planner", purpose: "pipeline", status: "queued", jobId: "job-new", commitSha: null, summary: null },
      ],
    });
  });

  test("the PR labels go on the PR, before anything else", () => {
    const { effects } = transition(makeTask("preparing"), events.prOpened, now, facts);
    expect(effects[0]).toEqual({ kind: "add_labels", issueNumber: 9, labels: ["ai-generated"] });
  });

  test("a check run that could not be drawn is said on the issue, and the task goes on", () => {
    const { next, effects } = transition(
      makeTask("awaiting_ci"),
      { ...events.effectFailed, effectKind: "upsert_check_run", message: "Resource not accessible by integration" },
      now,
      facts,
    );
    expect(next).toMatchObject({
      state: "awaiting_ci",
      reason: {
        code: "SIDE_WRITE_FAILED",
        message: "Foreman could not draw its `foreman` check run on the PR: Resource not accessible by integration",
      },
    });
    // Only the comment: asking for the check run again would fail again.
    expect(effects).toEqual([{ kind: "upsert_status_comment" }]);
  });

  test("a GitHub failure of an effect fails the task with its message", () => {
    const { next } = transition(
      makeTask("awaiting_ci"),
      { ...events.effectFailed, effectKind: "post_review", message: "GitHub rejected it." },
      now,
      facts,
    );
    expect(next).toMatchObject({ state: "failed", reason: { code: "GITHUB_ERROR", message: "GitHub rejected it." } });
  });

  test("a reviewer request that GitHub refuses does not end a task whose PR is already ready", () => {
    const { next } = transition(
      makeTask("ready_for_review"),
      {
        ...events.effectFailed,
        effectKind: "request_reviewers",
        message: "Reviews may only be requested from collaborators.",
      },
      now,
      facts,
    );
    expect(next).toMatchObject({
      state: "ready_for_review",
      reason: {
        code: "SIDE_WRITE_FAILED",
        message: "Foreman could not ask the configured reviewers: Reviews may only be requested from collaborators.",
      },
    });
  });

  test("a Foreman fault is reported as one, not as a GitHub problem", () => {
    const { next } = transition(
      makeTask("preparing"),
      { ...events.effectFailed, code: "INTERNAL", message: "Foreman hit an internal error: x" },
      now,
      facts,
    );
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
  test("the last step's pushed job moves the task to awaiting_ci with the new head, its usage and a CI timer", () => {
    const task = makeTask("running", {
      pipeline: {
        ...makeTask("running").pipeline,
        roles: ["coder"],
        index: 0,
        steps: [
          { role: "coder", purpose: "pipeline", status: "running", jobId: "job-1", commitSha: null, summary: null },
        ],
      },
    });
    const { next, effects } = transition(task, events.jobFinished, now, facts);
    expect(next).toMatchObject({
      state: "awaiting_ci",
      headSha: "c0ffee",
      jobId: null,
      usage: { agentMs: 1000, tokens: 10, costUsd: 0.01 },
    });
    expect(next?.pipeline).toMatchObject({
      waitingCiSha: "c0ffee",
      steps: [{ role: "coder", status: "succeeded", commitSha: "c0ffee", summary: "Fixed it." }],
    });
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "schedule_ci_wait", sha: "c0ffee", afterMs: 30 * 60_000 },
    ]);
  });

  test("a long summary is capped on the checklist", () => {
    const { next } = transition(makeTask("running"), { ...events.jobFinished, summary: "x".repeat(400) }, now, facts);
    const summary = next?.pipeline.steps.find((step) => step.jobId === "job-1")?.summary;
    expect(summary).toHaveLength(300);
    expect(summary?.endsWith("…")).toBe(true);
  });

  test("a job that changed nothing fails the task with the agent's summary", () => {
    const { next } = transition(makeTask("running"), { ...events.jobFinished, commitSha: null }, now, facts);
    expect(next?.reason).toEqual({
      code: "AGENT_NO_CHANGES",
      message: "The coder step finished without changing anything. Its summary: Fixed it.",
    });
  });

  test("a failed job fails the task with its message and the log tail as detail", () => {
    const { next } = transition(makeTask("running"), events.jobFailed, now, facts);
    expect(next?.reason).toEqual({ code: "AGENT_FAILED", message: "The agent exited with 1.", detail: "boom" });
  });

  test("a rejected diff is explained on the PR, and nothing else is written", () => {
    const { effects } = transition(
      makeTask("running"),
      { ...events.jobFailed, code: "GUARDRAIL_REJECTED", message: "2 files changed under .github/workflows/**." },
      now,
      facts,
    );
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      {
        kind: "post_pr_comment",
        prNumber: 9,
        marker: "foreman:guardrails:job-1",
        body: "### 🛑 Foreman did not push the coder step's changes\n\n2 files changed under .github/workflows/**.\n\nNothing was pushed to this branch.",
      },
    ]);
  });

  test("a failure of Foreman's host after its retries is reported as such, not as the agent's", () => {
    const { next } = transition(
      makeTask("running"),
      {
        ...events.jobFailed,
        code: "INFRA_DOCKER_UNAVAILABLE",
        message:
          "Docker could not create a job container (is the Docker daemon running and reachable at DOCKER_HOST?): connect ENOENT",
      },
      now,
      facts,
    );
    expect(next?.reason).toEqual({
      code: "INFRASTRUCTURE_ERROR",
      message:
        "Docker could not create a job container (is the Docker daemon running and reachable at DOCKER_HOST?): connect ENOENT",
      detail: "boom",
    });
  });

  test("configuration problems (unknown profile, missing secret, image not allowed) say so as such", () => {
    const { next } = transition(
      makeTask("awaiting_agent"),
      { ...events.jobFailed, code: "PROFILE_SECRET_MISSING", message: "ANTHROPIC_API_KEY is not set." },
      now,
      facts,
    );
    expect(next?.reason).toEqual({ code: "AGENT_CONFIG_ERROR", message: "ANTHROPIC_API_KEY is not set." });
  });

  test("a job stopped for a freeze is queued again, to run on resume", () => {
    const task = makeFrozenTask("running");
    const { next, effects } = transition(task, { ...events.jobFailed, code: "AGENT_STOPPED" }, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "awaiting_agent", jobId: "job-new", step: "coder" });
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "dispatch_agent_job", jobId: "job-new", role: "coder", baseSha: "head-1" },
    ]);
  });

  test("going over a budget stops the task and says which", () => {
    const task = makeTask("running", {
      config: { ...events.authorized.config, budgets: { agentMinutes: 60, tokens: 5, costUsd: null } },
    });
    const { next } = transition(task, events.jobFinished, now, facts);
    expect(next).toMatchObject({ state: "failed", headSha: "c0ffee", reason: { code: "BUDGET_EXCEEDED" } });
    expect(next?.reason?.message).toBe(
      "Agents used 10 tokens, over the task's budget of 5. The work done so far is pushed to the task's branch and stays on the draft pull request. Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.",
    );
  });

  test("events of an older job are stale", () => {
    const task = makeTask("running");
    expect(transition(task, { ...events.jobFinished, jobId: "job-0" }, now, facts).next).toBe(task);
    expect(transition(task, { ...events.jobFailed, jobId: "job-0" }, now, facts).next).toBe(task);
  });
});

describe("transition: frozen", () => {
  const frozenOnIssue = (resumeState: State, overrides: Partial<Task> = {}) =>
    makeFrozenTask(resumeState, "issue", overrides);

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
    const task = makeFrozenTask("awaiting_agent", "pull_request");
    expect(transition(task, events.unfreezePr, now, facts).next?.state).toBe("awaiting_agent");
  });

  test("a second freeze label changes nothing", () => {
    const task = frozenOnIssue("awaiting_agent");
    expect(transition(task, events.freezeOnPr, now, facts).next).toBe(task);
  });

  test("results that arrive while frozen are kept, and their effects wait in the outbox", () => {
    const { next, effects } = transition(frozenOnIssue("preparing"), events.prOpened, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "awaiting_agent", prNumber: 9 });
    // The check run is not drawn while frozen; the rest waits in the outbox (the job in its queue).
    expect(effects.map((effect) => effect.kind)).toEqual(["add_labels", "upsert_status_comment", "dispatch_agent_job"]);
  });

  test("authorisation while frozen moves the resume point to preparing", () => {
    const { next } = transition(frozenOnIssue("queued"), events.authorized, now, facts);
    expect(next).toMatchObject({ state: "frozen", resumeState: "preparing" });
  });

  test.each([
    ["closed", "cancelled", []],
    ["removeTrigger", "cancelled", []],
    ["prMerged", "merged", ["record_merge"]],
  ] as const)("%s ends a frozen task and replaces the frozen comment", (name, state, more) => {
    const { next, effects } = transition(frozenOnIssue("preparing"), events[name], now, facts);
    expect(next?.state).toBe(state);
    expect(next?.resumeState).toBeNull();
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment", ...more]);
  });

  test.each([
    ["closed", "cancelled"],
    ["removeTrigger", "cancelled"],
    ["prMerged", "merged"],
  ] as const)("%s ends a frozen candidate without a word: it never wrote a frozen comment", (name, state) => {
    const { next, effects } = transition(
      frozenOnIssue("queued", { triggerVerdict: "pending" }),
      events[name],
      now,
      facts,
    );
    expect(next).toMatchObject({ state, resumeState: null, triggerVerdict: "pending" });
    expect(effects).toEqual([]);
  });

  test("a frozen candidate judged a trigger but refused says so: an invalid config is reported", () => {
    const { next, effects } = transition(
      frozenOnIssue("queued", { triggerVerdict: "pending" }),
      events.rejectedConfig,
      now,
      facts,
    );
    expect(next).toMatchObject({ state: "failed", triggerVerdict: "refused", reason: { code: "CONFIG_INVALID" } });
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment"]);
  });

  test("a frozen candidate judged a trigger and authorised says it is frozen now, and its branch and PR wait for the thaw", () => {
    const { next, effects } = transition(
      frozenOnIssue("queued", { triggerVerdict: "pending" }),
      events.authorized,
      now,
      facts,
    );
    expect(next).toMatchObject({ state: "frozen", resumeState: "preparing", triggerVerdict: "authorized" });
    expect(effects.map((effect) => effect.kind)).toEqual(["upsert_status_comment", "ensure_branch", "open_draft_pr"]);
  });

  test("a label the config does not list, found while frozen, ends the candidate without a word", () => {
    const { next, effects } = transition(
      frozenOnIssue("queued", { triggerVerdict: "pending" }),
      events.rejectedNotTrigger,
      now,
      facts,
    );
    expect(next).toMatchObject({
      state: "cancelled",
      triggerVerdict: "not_a_trigger",
      reason: { code: "NOT_A_TRIGGER" },
    });
    expect(effects).toEqual([]);
  });

  test.each(["otherIssueLabel", "reopened", "branchReady"] as const)(
    "%s is ignored while frozen in awaiting_agent",
    (name) => {
      const task = frozenOnIssue("awaiting_agent");
      expect(transition(task, events[name], now, facts).next).toBe(task);
    },
  );
});

describe("workflow helpers", () => {
  test("the actor of an event is its sender, the authorised login, or the app for effect results", () => {
    expect(findEventActor(events.closed)).toBe("bob");
    expect(findEventActor(events.suiteOnHead)).toBe("github-actions[bot]");
    expect(findEventActor(events.allowedReview)).toBe("carol");
    expect(findEventActor(events.jobFinished)).toBe("foreman[app]");
  });

  test("active and terminal states", () => {
    for (const state of [
      "queued",
      "waiting",
      "preparing",
      "awaiting_agent",
      "running",
      "awaiting_ci",
      "ready_for_review",
      "escalated",
      "frozen",
    ] as const) {
      expect([state, isActiveState(state), isTerminalState(state)]).toEqual([state, true, false]);
    }
    for (const state of ["merged", "closed", "completed", "cancelled", "failed"] as const) {
      expect([state, isActiveState(state), isTerminalState(state)]).toEqual([state, false, true]);
    }
  });

  test("review roles push nothing; the others push what they changed", () => {
    expect(["planner", "reviewer", "security"].map(isCodeRole)).toEqual([false, false, false]);
    expect(["coder", "ci_fixer", "test_author", "scribe"].map(isCodeRole)).toEqual([true, true, true, true]);
  });

  test("a stored config without the newer keys gets them from the defaults", () => {
    const old = { triggerLabels: { "agent:bugfix": "bugfix" }, freezeLabel: "hold" } as unknown as TaskConfig;
    expect(withConfigDefaults(old)).toMatchObject({
      freezeLabel: "hold",
      maxCiAttempts: 3,
      maxReviewRevisions: 1,
      mode: "normal",
      ci: { apps: ["github-actions"], waitMinutes: 30, whenMissing: "wait" },
    });
    expect(withConfigDefaults(null).pipeline).toEqual({ default: ["planner", "coder", "reviewer"] });
  });
});
