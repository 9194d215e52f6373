import { describe, expect, test } from "vitest";
import type { SlashCommand } from "../../../src/workflow/events.js";
import type { TaskState } from "../../../src/workflow/states.js";
import type { CiFailure } from "../../../src/workflow/task.js";
import { findPriority, transition } from "../../../src/workflow/transition.js";
import { ciResult, config, events, facts, Flow, makeTask, now, suiteOn } from "./fixtures.js";

const REVIEW_BODY = "Please also handle an empty `next`.";

describe("human reviews asking for changes", () => {
  test("changes_requested → authorize_actor → a human_revision coder step with the review as feedback", () => {
    const flow = new Flow(makeTask("ready_for_review"));
    const before = flow.task;
    expect(flow.send(events.changesRequested)).toEqual([
      { kind: "authorize_actor", login: "carol", action: { kind: "review", reviewId: 77, body: REVIEW_BODY } },
    ]);
    expect(flow.task).toBe(before);

    expect(flow.send(events.allowedReview)).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId: "job-n2", role: "coder", baseSha: "head-1" },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_agent",
      step: "coder",
      jobId: "job-n2",
      reason: null,
      updatedAt: now.toISOString(),
    });
    expect(flow.task.pipeline).toMatchObject({
      purpose: "human_revision",
      humanRevisions: 1,
      feedback: { kind: "review", author: "carol", body: REVIEW_BODY, comments: [], reviewId: 77 },
    });
    expect(flow.task.pipeline.steps.at(-1)).toEqual({
      role: "coder",
      purpose: "human_revision",
      status: "queued",
      jobId: "job-n2",
      commitSha: null,
      summary: null,
    });

    // After the revision: CI on its commit (the pipeline's steps do not run again).
    expect(flow.runJob({ commitSha: "rev-1" })).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "schedule_ci_wait", sha: "rev-1", afterMs: 30 * 60_000 },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_ci",
      headSha: "rev-1",
      pipeline: { feedback: null, humanRevisions: 1 },
    });
  });

  test("a revision starts from a human's own commit on the branch", () => {
    const flow = new Flow(makeTask("ready_for_review"));
    flow.send(events.humanPush);
    expect(flow.task).toMatchObject({ state: "ready_for_review", headSha: "human-1", pipeline: { ci: null } });
    expect(flow.send(events.allowedReview).at(-1)).toEqual({
      kind: "dispatch_agent_job",
      jobId: "job-n2",
      role: "coder",
      baseSha: "human-1",
    });
  });

  test("a reviewer without write access is not acted on, and not answered", () => {
    const task = makeTask("ready_for_review");
    expect(transition(task, events.refusedReview, now, facts)).toEqual({ next: task, effects: [] });
  });

  test("approvals, comments and Foreman's own reviews are not acted on", () => {
    const task = makeTask("ready_for_review");
    expect(transition(task, events.approved, now, facts)).toEqual({ next: task, effects: [] });
    expect(transition(task, { ...events.changesRequested, state: "commented" }, now, facts)).toEqual({
      next: task,
      effects: [],
    });
    expect(transition(task, { ...events.changesRequested, senderIsBot: true }, now, facts)).toEqual({
      next: task,
      effects: [],
    });
  });

  test("an authorised review for a task that has ended its revisable state is dropped", () => {
    const task = makeTask("preparing");
    expect(transition(task, events.allowedReview, now, facts)).toEqual({ next: task, effects: [] });
  });
});

describe("/foreman commands", () => {
  const commands: SlashCommand[] = ["status", "explain", "stop", "retry"];

  test.each(commands)("/foreman %s first checks the sender's permission", (command) => {
    const task = makeTask("awaiting_ci");
    const { next, effects } = transition(task, { ...events.cmdStatus, command, commentId: 600 }, now, facts);
    expect(next).toBe(task);
    // A retry on the issue carries the issue, from which it may start a task once the task has ended.
    const issue = command === "retry" ? { issue: events.cmdStatus.issue } : {};
    expect(effects).toEqual([
      { kind: "authorize_actor", login: "dave", action: { kind: "command", command, commentId: 600, ...issue } },
    ]);
  });

  test.each(commands)("/foreman %s from someone without write access is refused politely, on the issue", (command) => {
    const task = makeTask("running");
    const { next, effects } = transition(
      task,
      { ...events.refusedCommand, action: { kind: "command", command, commentId: 600 } },
      now,
      facts,
    );
    expect(next).toBe(task);
    expect(effects).toEqual([
      { kind: "answer_command", issueNumber: 5, answer: "refusal", login: "mallory", command, commentId: 600 },
    ]);
  });

  test.each(["status", "explain"] as const)("/foreman %s is answered on the issue and changes nothing", (command) => {
    const task = makeTask("running");
    const { next, effects } = transition(
      task,
      { ...events.allowedStatus, action: { kind: "command", command, commentId: 600 } },
      now,
      facts,
    );
    expect(next).toBe(task);
    expect(effects).toEqual([
      { kind: "answer_command", issueNumber: 5, answer: command, login: "dave", command, commentId: 600 },
    ]);
  });

  test("a command given on the PR is answered on the issue too", () => {
    const task = makeTask("awaiting_ci");
    expect(transition(task, { ...events.cmdStatus, onPullRequest: true }, now, facts).effects).toEqual([
      { kind: "authorize_actor", login: "dave", action: { kind: "command", command: "status", commentId: 501 } },
    ]);
    expect(transition(task, events.allowedStatus, now, facts).effects).toEqual([
      { kind: "answer_command", issueNumber: 5, answer: "status", login: "dave", command: "status", commentId: 501 },
    ]);
  });

  test("/foreman stop cancels the task, with its job", () => {
    const { next, effects } = transition(makeTask("running"), events.allowedStop, now, facts);
    expect(next).toMatchObject({
      state: "cancelled",
      updatedAt: now.toISOString(),
      reason: {
        code: "STOPPED_BY_COMMAND",
        message: "@dave stopped Foreman with `/foreman stop`. The branch and any PR are left for you.",
      },
    });
    expect(effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "cancel_agent_job", jobId: "job-1" },
    ]);
  });

  test("/foreman stop withdraws a queued job too; without a job nothing is cancelled", () => {
    expect(transition(makeTask("awaiting_agent"), events.allowedStop, now, facts).effects.at(-1)).toEqual({
      kind: "cancel_agent_job",
      jobId: "job-1",
    });
    expect(transition(makeTask("awaiting_ci"), events.allowedStop, now, facts).effects).toEqual([
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
    ]);
  });

  test("/foreman retry while awaiting CI reads CI on the head again", () => {
    const task = makeTask("awaiting_ci", {
      pipeline: { ...makeTask("awaiting_ci").pipeline, ci: { sha: "head-1", conclusion: "failure", suiteId: 301 } },
    });
    const { next, effects } = transition(task, events.allowedRetry, now, facts);
    expect(next).toMatchObject({ state: "awaiting_ci", updatedAt: now.toISOString() });
    expect(effects).toEqual([
      {
        kind: "answer_command",
        issueNumber: 5,
        answer: "note",
        login: "dave",
        command: "retry",
        text: "@dave asked to retry: Foreman reads CI on head-1 again.",
        commentId: 504,
      },
      { kind: "collect_ci_result", sha: "head-1", suiteId: 301, apps: ["github-actions"] },
    ]);
  });

  test("/foreman retry while awaiting CI on an unknown head changes nothing", () => {
    const task = makeTask("awaiting_ci", { headSha: null });
    expect(transition(task, events.allowedRetry, now, facts)).toEqual({ next: task, effects: [] });
  });

  test("a candidate (its label not judged yet) ignores commands: no permission read, no answer", () => {
    const task = makeTask("queued");
    expect(transition(task, events.cmdRetry, now, facts)).toEqual({ next: task, effects: [] });
    expect(transition(task, events.allowedRetry, now, facts)).toEqual({ next: task, effects: [] });
  });

  test.each(["waiting", "preparing", "awaiting_agent", "running", "ready_for_review"] as TaskState[])(
    "/foreman retry in %s says there is nothing to retry",
    (state) => {
      const task = makeTask(state);
      const { next, effects } = transition(task, events.allowedRetry, now, facts);
      expect(next).toBe(task);
      expect(effects).toEqual([
        {
          kind: "answer_command",
          issueNumber: 5,
          answer: "note",
          login: "dave",
          command: "retry",
          text: `@dave: there is nothing to retry right now — the task is \`${state}\`. \`/foreman status\` says what it is doing.`,
          commentId: 504,
        },
      ]);
    },
  );
});

describe("/foreman retry on an escalated task", () => {
  const failures: CiFailure[] = [{ name: "test", summary: "2 tests failed", logTail: "FAIL login.test.ts" }];

  /** A task driven to escalation: red CI with `failures`, three ci_fixer steps, red again. */
  function escalated(): Flow {
    const flow = new Flow(makeTask("awaiting_ci"));
    for (const sha of ["fix-1", "fix-2", "fix-3"]) {
      flow.send((task) => suiteOn(task, "failure"));
      flow.send((task) => ciResult(task, "failure", failures));
      flow.runJob({ commitSha: sha });
    }
    flow.send((task) => suiteOn(task, "failure"));
    flow.send((task) => ciResult(task, "failure", failures));
    expect(flow.task.state).toBe("escalated");
    return flow;
  }

  test("resets the attempts and dispatches a ci_fixer on the head, with a note", () => {
    const flow = escalated();
    const effects = flow.send(events.allowedRetry);
    const jobId = flow.task.jobId;
    expect(effects).toEqual([
      {
        kind: "answer_command",
        issueNumber: 5,
        answer: "note",
        login: "dave",
        command: "retry",
        text: "@dave asked to retry: Foreman runs another ci_fixer step (up to 3 CI attempts).",
        commentId: 504,
      },
      // The freeze label Foreman put on the PR when it escalated comes off.
      { kind: "remove_label", issueNumber: 9, label: "needs-human-review" },
      { kind: "upsert_status_comment" },
      { kind: "upsert_check_run" },
      { kind: "dispatch_agent_job", jobId, role: "ci_fixer", baseSha: "fix-3" },
    ]);
    expect(flow.task).toMatchObject({
      state: "awaiting_agent",
      step: "ci_fixer",
      reason: null,
      pipeline: { purpose: "ci_fix", ciAttempts: 1 },
    });
    // Two more red verdicts send two more fixers; the third escalates again.
    for (const sha of ["fix-4", "fix-5"]) {
      flow.runJob({ commitSha: sha });
      flow.send((task) => ciResult(task, "failure", failures));
      expect(flow.task.step).toBe("ci_fixer");
    }
    flow.runJob({ commitSha: "fix-6" });
    flow.send((task) => ciResult(task, "failure", failures));
    expect(flow.task.state).toBe("escalated");
  });

  test("the ci_fixer of a retry is told which checks failed last", () => {
    const flow = escalated();
    flow.send(events.allowedRetry);
    expect(flow.task.pipeline.feedback).toEqual({ kind: "ci", sha: "fix-3", failures });
  });

  test("a retry with no CI on record sends the coder as a human revision", () => {
    const task = makeTask("escalated", { pipeline: { ...makeTask("escalated").pipeline, ci: null, feedback: null } });
    const { next, effects } = transition(task, events.allowedRetry, now, facts);
    expect(next).toMatchObject({
      state: "awaiting_agent",
      step: "coder",
      pipeline: { purpose: "human_revision", feedback: null },
    });
    expect(effects[0]).toMatchObject({
      text: "@dave asked to retry: Foreman runs another coder step (up to 3 CI attempts).",
    });
  });
});

describe("/foreman retry when the issue has no active task", () => {
  test("a retry straight from a comment creates no task: the ended task must confirm its sender first", () => {
    expect(transition(null, events.cmdRetry, now, { ...facts, previousTriggerLabel: "agent:feature" })).toEqual({
      next: null,
      effects: [],
    });
  });

  test("the ended task checks the sender, then queues the retry once; a second confirmed retry is told one is on its way", () => {
    const ended = makeTask("failed");
    const fromIssue = { ...events.cmdRetry, commentId: 700 };
    expect(transition(ended, fromIssue, now, facts)).toEqual({
      next: ended,
      effects: [
        {
          kind: "authorize_actor",
          login: "dave",
          action: { kind: "command", command: "retry", commentId: 700, issue: events.cmdRetry.issue },
        },
      ],
    });
    const confirmed = (login: string, commentId: number, role: string) => ({
      ...events.allowedRetry,
      login,
      role: { role, permission: role },
      action: { kind: "command" as const, command: "retry" as const, commentId, issue: events.cmdRetry.issue },
    });
    const first = transition(ended, confirmed("dave", 700, "write"), now, facts);
    expect(first.effects).toEqual([
      { kind: "start_retry_task", sender: "dave", commentId: 700, issue: events.cmdRetry.issue },
    ]);
    expect(first.next!.pipeline.retriedBy).toEqual({ login: "dave", commentId: 700 });
    expect(first.next!.state).toBe("failed");
    const second = transition(first.next, confirmed("erin", 701, "admin"), now, facts);
    expect(second.next).toBe(first.next);
    expect(second.effects).toEqual([
      {
        kind: "answer_command",
        issueNumber: 5,
        answer: "note",
        login: "erin",
        command: "retry",
        commentId: 701,
        text: "@erin: @dave already asked to retry this task; Foreman starts one new task for it. `/foreman status` says how it is going.",
      },
    ]);
    // Without write access: one refusal per person on the issue, and nothing is queued.
    expect(transition(ended, confirmed("mallory", 702, "read"), now, facts)).toEqual({
      next: ended,
      effects: [
        {
          kind: "answer_command",
          issueNumber: 5,
          answer: "refusal",
          login: "mallory",
          command: "retry",
          commentId: 702,
          refusalScope: "issue",
        },
      ],
    });
  });

  test("starts a fresh task from the previous task's trigger label, authorising the sender", () => {
    const { next, effects } = transition(null, { ...events.cmdRetry, authorizedRetryOf: "task-old" }, now, {
      ...facts,
      previousTriggerLabel: "agent:feature",
    });
    expect(next).toMatchObject({
      id: "task-new",
      state: "queued",
      type: "feature",
      triggerLabel: "agent:feature",
      triggeredBy: "dave",
      issueNumber: 5,
      priority: 0,
    });
    expect(effects).toEqual([{ kind: "authorize_trigger", sender: "dave", label: "agent:feature" }]);
  });

  test("a sender without write access gets one refusal (per issue), and the fresh task ends without touching the status comment", () => {
    const started = transition(null, { ...events.cmdRetry, authorizedRetryOf: "task-old" }, now, {
      ...facts,
      previousTriggerLabel: "agent:feature",
    }).next!;
    expect(started.pipeline.origin).toEqual({ kind: "retry", commentId: 504 });
    const refusal = [
      {
        kind: "answer_command",
        issueNumber: 5,
        answer: "refusal",
        login: "dave",
        command: "retry",
        commentId: 504,
        refusalScope: "issue",
      },
    ];
    // Read access: the trigger check itself refuses.
    const checked = (role: string, permission = role) => ({
      ...events.authorized,
      taskId: "task-new",
      config: { ...config, triggerLabels: { "agent:feature": "feature" as const } },
      senderRole: { role, permission },
    });
    const rejected = transition(started, checked("read"), now, facts);
    expect(rejected.next).toMatchObject({ state: "cancelled", reason: { code: "SENDER_NOT_ALLOWED" } });
    expect(rejected.effects).toEqual(refusal);
    // Triage may label, but a command needs write.
    const triage = transition(started, checked("triage", "read"), now, facts);
    expect(triage.next).toMatchObject({ state: "cancelled" });
    expect(triage.effects).toEqual(refusal);
    // Write access: the task goes ahead as a label would.
    expect(transition(started, checked("write"), now, facts).next).toMatchObject({
      state: "preparing",
      triggerVerdict: "authorized",
    });
    // A custom role based on write is write access.
    expect(transition(started, checked("release-manager", "write"), now, facts).next).toMatchObject({
      state: "preparing",
    });
  });

  test("does nothing without a previous task, on a PR, or for another command", () => {
    expect(transition(null, events.cmdRetry, now, { ...facts, previousTriggerLabel: null })).toEqual({
      next: null,
      effects: [],
    });
    expect(transition(null, events.cmdRetry, now, facts)).toEqual({ next: null, effects: [] });
    expect(
      transition(null, { ...events.cmdRetry, onPullRequest: true }, now, {
        ...facts,
        previousTriggerLabel: "agent:bugfix",
      }),
    ).toEqual({ next: null, effects: [] });
    expect(transition(null, events.cmdStop, now, { ...facts, previousTriggerLabel: "agent:bugfix" })).toEqual({
      next: null,
      effects: [],
    });
  });
});

describe("priority labels", () => {
  test("a priority:high label raises a task's priority, and nothing else happens", () => {
    const task = makeTask("awaiting_agent");
    const { next, effects } = transition(task, events.priorityHigh, now, facts);
    expect(effects).toEqual([]);
    expect(next).toEqual({ ...task, priority: 1, updatedAt: now.toISOString() });
  });

  test("a new task takes its priority from the issue's labels: the highest wins", () => {
    const start = (labels: string[]) =>
      transition(null, { ...events.triggerAgain, issue: { ...events.triggerAgain.issue, labels } }, now, facts).next
        ?.priority;
    expect(start(["agent:bugfix"])).toBe(0);
    expect(start(["priority:high"])).toBe(1);
    expect(start(["priority:low"])).toBe(-1);
    expect(start(["priority:low", "priority:high"])).toBe(1);
    expect(
      transition(null, { ...events.reopened, labels: ["agent:bugfix", "priority:low"] }, now, facts).next?.priority,
    ).toBe(-1);
    expect(findPriority(undefined)).toBe(0);
  });

  test("a frozen task learns its priority too", () => {
    const task = makeTask("frozen", { resumeState: "awaiting_agent", frozenBy: "bob", frozenOn: "issue" });
    expect(transition(task, events.priorityHigh, now, facts).next).toMatchObject({
      state: "frozen",
      resumeState: "awaiting_agent",
      priority: 1,
    });
  });

  test("priority:low added later lowers the task, and removing priority:high lowers it back", () => {
    const task = makeTask("awaiting_agent");
    const lowered = transition(
      task,
      {
        ...events.priorityHigh,
        label: "priority:low",
        issue: { ...events.priorityHigh.issue, labels: ["agent:bugfix", "priority:low"] },
      },
      now,
      facts,
    );
    expect(lowered.next?.priority).toBe(-1);
    const high = { ...task, priority: 1 };
    const removed = transition(
      high,
      {
        ...events.removeOtherLabel,
        label: "priority:high",
        issue: { ...events.removeOtherLabel.issue, labels: ["agent:bugfix"] },
      },
      now,
      facts,
    );
    expect(removed.next?.priority).toBe(0);
  });
});
