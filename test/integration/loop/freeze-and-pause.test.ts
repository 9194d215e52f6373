import { describe, expect, test } from "vitest";
import { runPauseCommand } from "../../../src/cli/pause.js";
import { verifyDatabase } from "../../../src/compliance/verify-database.js";
import {
  actionWrites,
  buildLoopConfig,
  DRAFT_PR_WRITES,
  labelIssue,
  lastStatusComment,
  listRunningContainers,
  LOOP_PR,
  mockLoopGitHub,
  PUSH_WRITES,
  ROLE_SCRIPTS,
  useLoopForeman,
  waitForRunningStep,
  writesSince,
} from "../../helpers/loop-harness.js";
import { buildIssuesPayload } from "../../helpers/payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// A human's freeze (`needs-human-review` on the issue) and the operator's global pause
// (`foreman pause`), each while a real container works: the container is stopped (gone within
// 30 s, a bound on a hang well before the agent's own minute is up: how fast is a figure for
// bench/, not a test threshold, and a loaded machine stretched 5 s), nothing but the status
// comment reaches GitHub while held, and on release the step runs again and the pipeline carries
// on to CI.

const loop = useLoopForeman({ idPrefix: "f0000000" });
const TASK = loop.id(1);

/** A reviewer that works for a minute when its checkout has a file `slow`, else reviews at once. */
const SLOW_THEN_FAST_REVIEWER = `if [ -f /workspace/slow ]; then sleep 60; fi; ${ROLE_SCRIPTS.reviewer}`;

/**
 * coder → reviewer. The coder pushes at once; the reviewer's first checkout has a `slow` file, so
 * it works for a minute (and is stopped); when it runs again it sees the next checkout and reviews.
 */
async function mockCoderThenSlowReviewer() {
  const config = buildLoopConfig({ pipeline: ["coder", "reviewer"], reviewer: SLOW_THEN_FAST_REVIEWER });
  const github = mockLoopGitHub(config).draftPr();
  await github.stepReads("plan-sha");
  github.push("plan-sha", "code-sha");
  await github.stepReadsInTurn("code-sha", [
    { "README.md": "The README.\n", slow: "1\n" },
    { "README.md": "The README.\n" },
  ]);
  // Each reviewer run reads the change so far.
  github.diff("code-sha", 2).review();
  return github;
}

/** The task's jobs in order, as "role:status:failure code". */
async function readJobs(): Promise<string[]> {
  const jobs = await loop.database.sql`select role, status, failure_code from agent_jobs order by created_at, id`;
  return jobs.map((job) => `${job.role}:${job.status}:${job.failure_code ?? ""}`);
}

/** The jobs once the reviewer was stopped: its step waits on a fresh job. */
const STOPPED = ["coder:succeeded:", "reviewer:cancelled:AGENT_STOPPED", "reviewer:queued:"];

/** Everything Foreman writes on the way from the label to CI, stopped step or not (no planner: no plan comment). */
const WRITES_TO_CI = [...DRAFT_PR_WRITES, ...PUSH_WRITES, `POST /pulls/${LOOP_PR}/reviews`];

describe("freeze and global pause while an agent works", () => {
  test("needs-human-review on the issue stops the container; only the status comment is written while frozen; removing it runs the step again and the pipeline goes on", async () => {
    const github = await mockCoderThenSlowReviewer();
    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");

    const atFreeze = github.writes().length;
    await loop.foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "labeled",
        label: "needs-human-review",
        issueNumber: 1,
        sender: "lead",
        updatedAt: "2030-01-01T00:00:00Z",
      }),
    );
    await expect
      .poll(async () => (await listRunningContainers(loop.foreman, TASK)).length, { timeout: 30_000, interval: 100 })
      .toBe(0);
    // The stopped step is queued again, and waits.
    await expect.poll(readJobs, { timeout: 10_000 }).toEqual(STOPPED);
    await loop.foreman.settle();

    expect(await loop.database.sql`select state, resume_state, frozen_by, frozen_on from tasks`).toMatchObject([
      { state: "frozen", resume_state: "awaiting_agent", frozen_by: "lead", frozen_on: "issue" },
    ]);
    expect(await readJobs()).toEqual(STOPPED);
    expect(await listRunningContainers(loop.foreman, TASK)).toHaveLength(0);
    // While frozen: the status comment, and nothing else (the check run on code-sha is not touched, no review).
    const whileFrozen = writesSince(github, atFreeze);
    expect(whileFrozen.length).toBeGreaterThan(0);
    expect(whileFrozen.filter((write) => write !== "PATCH /issues/comments/9001")).toEqual([]);
    expect(lastStatusComment(github)).toContain("### 🧊 Foreman: frozen");
    expect(lastStatusComment(github)).toContain(
      "@lead added `needs-human-review` on the issue. Foreman does nothing more until the label is removed; then it resumes where it stopped.",
    );
    expect(lastStatusComment(github)).toContain("| State | `frozen` (resumes in `awaiting_agent`) |");

    await loop.foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "unlabeled",
        label: "needs-human-review",
        issueNumber: 1,
        sender: "lead",
        updatedAt: "2030-01-01T00:01:00Z",
      }),
    );
    await loop.foreman.settle();

    expect(await loop.database.sql`select state, head_sha, step from tasks`).toMatchObject([
      { state: "awaiting_ci", head_sha: "code-sha", step: "reviewer" },
    ]);
    expect(await readJobs()).toEqual(["coder:succeeded:", "reviewer:cancelled:AGENT_STOPPED", "reviewer:succeeded:"]);
    expect(actionWrites(github)).toEqual(WRITES_TO_CI);
    expect(lastStatusComment(github)).toMatch(/✅ `coder` · pushed code-sh[\s\S]*⏸️ `reviewer`[\s\S]*✅ `reviewer`/);
    // The freeze and its lifting are transitions on the record, by the person who did them.
    const transitions = await loop.database
      .sql`select actor, payload->>'from' as "from", payload->>'to' as "to" from compliance_records where kind = 'task.transition' and actor = 'lead' order by seq`;
    expect(transitions.at(0)).toMatchObject({ from: "running", to: "frozen" });
    expect(transitions.at(-1)).toMatchObject({ from: "frozen", to: "awaiting_agent" });
  }, 60_000);

  test("foreman pause stops the running container and starts nothing until foreman resume; both are on the record", async () => {
    const github = await mockCoderThenSlowReviewer();
    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");

    const out: string[] = [];
    const atPause = github.writes().length;
    expect(
      await runPauseCommand("pause", ["--reason", "incident 42"], {
        sql: loop.database.sql,
        out: (text) => out.push(text),
        operator: "operator:alice",
      }),
    ).toBe(0);
    await expect
      .poll(async () => (await listRunningContainers(loop.foreman, TASK)).length, { timeout: 30_000, interval: 100 })
      .toBe(0);
    // The stopped step is queued again and stays queued: the runner leases nothing while paused.
    await expect.poll(readJobs, { timeout: 10_000 }).toEqual(STOPPED);
    await loop.foreman.jobs!.whenIdle();
    await loop.foreman.worker.whenIdle();
    await loop.foreman.jobs!.whenIdle();
    expect(await readJobs()).toEqual(STOPPED);
    expect(await listRunningContainers(loop.foreman, TASK)).toHaveLength(0);
    expect(await loop.database.sql`select state from tasks`).toMatchObject([{ state: "awaiting_agent" }]);
    // Nothing but the status comment while paused (the check run waits for the resume).
    expect(writesSince(github, atPause).filter((write) => write !== "PATCH /issues/comments/9001")).toEqual([]);

    expect(
      await runPauseCommand("resume", [], {
        sql: loop.database.sql,
        out: (text) => out.push(text),
        operator: "operator:alice",
      }),
    ).toBe(0);
    // The pause check is cached for a second: wait for the runner to lease the step again, then for the rest.
    await expect.poll(async () => (await readJobs())[2], { timeout: 10_000 }).not.toBe("reviewer:queued:");
    await loop.foreman.settle();

    expect(await loop.database.sql`select state, head_sha from tasks`).toMatchObject([
      { state: "awaiting_ci", head_sha: "code-sha" },
    ]);
    expect(await readJobs()).toEqual(["coder:succeeded:", "reviewer:cancelled:AGENT_STOPPED", "reviewer:succeeded:"]);
    expect(actionWrites(github)).toEqual(WRITES_TO_CI);
    expect(out).toEqual([
      "Foreman is paused: running agents stop within seconds and no task moves until `foreman resume`.",
      "Foreman resumed: held tasks continue where they stopped.",
    ]);
    const records = await loop.database
      .sql`select task_id, kind, actor, payload from compliance_records where kind like 'system.%' order by seq`;
    expect(records.map((record) => ({ ...record }))).toEqual([
      { task_id: null, kind: "system.paused", actor: "operator:alice", payload: { reason: "incident 42" } },
      { task_id: null, kind: "system.resumed", actor: "operator:alice", payload: { reason: null } },
    ]);
    expect(await verifyDatabase(loop.database.sql, { artifacts: null, publicKeys: null })).toMatchObject({ ok: true });
  }, 60_000);
});
