import { describe, expect, test } from "vitest";
import {
  actionWrites,
  buildLoopConfig,
  DRAFT_PR_WRITES,
  labelIssue,
  lastStatusComment,
  LOOP_PR,
  mockLoopGitHub,
  PUSH_WRITES,
  readLoopTask,
  useLoopForeman,
  writeBodies,
} from "../../helpers/loop-harness.js";
import { REPO_PATH } from "../../helpers/github-mock.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// A repository without CI: the wait for a check suite is a timer (a delayed event in the task's own
// lane); when it fires, the repo's `ci.whenMissing` decides. A tiny `waitMinutes` makes it fire at once.

const loop = useLoopForeman({ idPrefix: "a1000000" });

/** One coder step, and a CI wait of 60 ms. */
function config(whenMissing: "ready" | "wait"): string {
  return buildLoopConfig({
    pipeline: ["coder"],
    extra: ["ci:", "  waitMinutes: 0.001", `  whenMissing: ${whenMissing}`],
  });
}

describe("a repository without CI", () => {
  test("whenMissing: ready → when no suite came in time, the PR is marked ready and a note on the PR says so", async () => {
    const github = mockLoopGitHub(config("ready")).draftPr();
    await github.stepReads("plan-sha");
    github.push("plan-sha", "code-sha");
    // A coder-only pipeline has drawn no check run before ready: ready's redraw creates it by REST.
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady({ checkRun: "absent" });
    github.scope
      .post(
        `${REPO_PATH}/issues/${LOOP_PR}/comments`,
        (body: { body?: string }) => body.body?.includes("foreman:ready-note:") === true,
      )
      .reply(201, { id: 880 });

    await labelIssue(loop.foreman);
    // The timer is due 60 ms after CI is awaited; the task moves when it fires.
    await expect
      .poll(async () => (await readLoopTask(loop.database)).state, { timeout: 30_000 })
      .toBe("ready_for_review");
    await loop.foreman.settle();

    expect(actionWrites(github)).toEqual([
      ...DRAFT_PR_WRITES,
      ...PUSH_WRITES,
      "POST /graphql",
      `POST /issues/${LOOP_PR}/comments`,
    ]);
    const [note] = writeBodies<{ body: string }>(github, "POST", `/issues/${LOOP_PR}/comments`);
    expect(note!.body).toContain(
      "No CI reported on code-sh within 0.001 minutes, so Foreman marked this PR ready without CI",
    );
    const records = await loop.database
      .sql`select kind, payload->>'event' as event from compliance_records where kind = 'task.transition' order by seq`;
    expect(records.map((record) => record.event)).toContain("ci_wait_expired");
  }, 120_000);

  test("whenMissing: wait → the task keeps waiting and the status comment says how to change that", async () => {
    const github = mockLoopGitHub(config("wait")).draftPr();
    await github.stepReads("plan-sha");
    github.push("plan-sha", "code-sha");

    await labelIssue(loop.foreman);
    await expect
      .poll(async () => (await readLoopTask(loop.database)).reason?.code ?? null, { timeout: 30_000 })
      .toBe("NO_CI");
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({ state: "awaiting_ci", head_sha: "code-sha" });
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, ...PUSH_WRITES]);
    expect(lastStatusComment(github)).toContain("set `ci.whenMissing: ready` in .github/foreman.yml");
  }, 120_000);
});
