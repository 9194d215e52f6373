import { expect, test } from "vitest";
import {
  buildLoopConfig,
  labelIssue,
  LOOP_APP_SLUG,
  LOOP_BRANCH,
  LOOP_PR,
  mockLoopGitHub,
  readLoopTask,
  useLoopForeman,
} from "../../helpers/loop-harness.js";
import { buildSynchronizePayload } from "../../helpers/more-payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// The agent's push is one `createCommitOnBranch` (ADR 0014): GitHub makes the commit and moves the
// branch, then answers. Its `pull_request.synchronize` for the new head may be delivered and applied
// before that answer reaches Foreman, so before the job has recorded the commit as its own. The
// task must still know the push as Foreman's (by its sender, the app's own bot), in either order.

const loop = useLoopForeman({ idPrefix: "5c000000" });

/** GitHub's report of the coder's commit, pushed by the app (`<slug>[bot]`, a Bot). */
function ownPushReport() {
  return buildSynchronizePayload({
    prNumber: LOOP_PR,
    headRef: LOOP_BRANCH,
    headSha: "code-sha",
    before: "plan-sha",
    sender: `${LOOP_APP_SLUG}[bot]`,
    senderType: "Bot",
  });
}

async function readHumanPushes() {
  return loop.database.sql`select actor, payload from compliance_records where kind = 'branch.pushed_by_human'`;
}

test("the synchronize of Foreman's own push, applied before the push's answer and the job's end, is Foreman's: no human-push record, the pipeline goes on; again after the job's end, nothing", async () => {
  const github = mockLoopGitHub(buildLoopConfig()).draftPr().appSlug();
  await github.stepReads("plan-sha", { times: 2 }); // planner and coder
  let inWindow: unknown;
  github.push("plan-sha", "code-sha", {
    whileWriting: async () => {
      await loop.foreman.receive("pull_request", ownPushReport(), "sync-in-window");
      await loop.foreman.worker.whenIdle();
      // Applied while the coder's job still runs and has recorded no commit.
      inWindow = {
        delivery: (
          await loop.database.sql`select status from webhook_deliveries where delivery_id = 'sync-in-window'`
        )[0],
        job: (await loop.database.sql`select status, pushed_sha from agent_jobs where role = 'coder'`)[0],
        task: (await loop.database.sql`select state, head_sha from tasks`)[0],
        humanPushes: await readHumanPushes(),
      };
    },
  });
  await github.stepReads("code-sha"); // reviewer
  github.diff("code-sha").review();
  await labelIssue(loop.foreman);
  await loop.foreman.settle();

  expect(inWindow).toEqual({
    delivery: { status: "done" },
    job: { status: "running", pushed_sha: null },
    // The head is not moved by the report: the job's end moves it.
    task: { state: "running", head_sha: "plan-sha" },
    humanPushes: [],
  });
  expect(await readLoopTask(loop.database)).toMatchObject({
    state: "awaiting_ci",
    head_sha: "code-sha",
    step: "reviewer",
  });
  expect(await readHumanPushes()).toEqual([]);

  // GitHub delivers the report again, after the job's end: the same push, still Foreman's.
  await loop.foreman.receive("pull_request", ownPushReport(), "sync-redelivered");
  await loop.foreman.settle();
  expect(await readLoopTask(loop.database)).toMatchObject({ state: "awaiting_ci", head_sha: "code-sha" });
  expect(await readHumanPushes()).toEqual([]);
}, 60_000);

test("a person's push on top of the coder's commit, reported in the same window, is theirs and stays the head after the coder's end: the reviewer reads it", async () => {
  const github = mockLoopGitHub(buildLoopConfig()).draftPr().appSlug();
  await github.stepReads("plan-sha", { times: 2 }); // planner and coder
  github.push("plan-sha", "code-sha", {
    whileWriting: async () => {
      await loop.foreman.receive("pull_request", ownPushReport());
      const human = { prNumber: LOOP_PR, headRef: LOOP_BRANCH, sender: "octocat", senderType: "User" as const };
      await loop.foreman.receive(
        "pull_request",
        buildSynchronizePayload({ ...human, headSha: "human-sha", before: "code-sha" }),
      );
      await loop.foreman.worker.whenIdle();
    },
  });
  await github.stepReads("human-sha"); // reviewer
  github.diff("human-sha").review();
  await labelIssue(loop.foreman);
  await loop.foreman.settle();

  expect(await readLoopTask(loop.database)).toMatchObject({
    state: "awaiting_ci",
    head_sha: "human-sha",
    step: "reviewer",
  });
  expect(await loop.database.sql`select role, base_sha, pushed_sha from agent_jobs order by created_at`).toEqual([
    { role: "planner", base_sha: "plan-sha", pushed_sha: null },
    { role: "coder", base_sha: "plan-sha", pushed_sha: "code-sha" },
    { role: "reviewer", base_sha: "human-sha", pushed_sha: null },
  ]);
  expect(await readHumanPushes()).toEqual([{ actor: "octocat", payload: { prNumber: LOOP_PR, headSha: "human-sha" } }]);
}, 60_000);
