import { afterEach, beforeEach, expect, test } from "vitest";
import { recordJobPush } from "../../src/db/queries/record-job-push.js";
import { mockGitHub, mockLabelToDraftPr } from "../helpers/github-mock.js";
import { buildSynchronizePayload } from "../helpers/more-payloads.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// A push to a task's branch is Foreman's own when its commit is one Foreman's job recorded, or when
// its sender is Foreman's own app (`<slug>[bot]`, GET /app, read once): the report of a one-write
// push may outrun the job's record. A push by any other bot is kept like a human's. (The human
// push in the whole loop is in loop/ci-loop.test.ts, the report applied inside the push's write in
// loop/own-push-window.test.ts.)

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database);
});
afterEach(async () => {
  await foreman.stop();
});

async function pushedByHuman() {
  return database.sql`select actor, payload from compliance_records where kind = 'branch.pushed_by_human' order by seq`;
}

/** `GET /app`: the test app's slug, so its bot is `foreman[bot]`. */
function mockAppSlug(github: ReturnType<typeof mockGitHub>) {
  github.scope.get("/app").reply(200, { id: 12345, slug: "foreman", name: "Foreman" });
}

/** Label → draft PR #7, the planner's job queued: the task awaits its agent on plan-sha. */
async function startTask(github: ReturnType<typeof mockGitHub>) {
  mockLabelToDraftPr(github, 1, 7);
  await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
  await foreman.settle();
  const [task] = await database.sql`select id, state, branch, head_sha from tasks`;
  expect(task).toMatchObject({ state: "awaiting_agent", head_sha: "plan-sha" });
  const [job] = await database.sql`select id from agent_jobs where task_id = ${task!.id}`;
  return { branch: String(task!.branch), jobId: String(job!.id) };
}

test("Foreman's recorded push changes nothing even before its job's end is stored; another bot's push moves the head", async () => {
  const github = mockGitHub().token();
  mockAppSlug(github);
  const { branch, jobId } = await startTask(github);

  // The job is about to move the branch: its commit is recorded first, so GitHub's report of it,
  // arriving while the job's end is not yet stored, is Foreman's own push.
  await recordJobPush(database.sql, jobId, "foreman-sha");
  const push = { prNumber: 7, headRef: branch, senderType: "Bot" as const };
  await foreman.receive(
    "pull_request",
    buildSynchronizePayload({ ...push, headSha: "foreman-sha", sender: "foreman[bot]" }),
  );
  await foreman.settle();
  expect(await database.sql`select state, head_sha from tasks`).toEqual([
    { state: "awaiting_agent", head_sha: "plan-sha" },
  ]);
  expect(await pushedByHuman()).toEqual([]);

  // Another bot's push is somebody else's commit on the branch: kept, and the next step starts from it.
  await foreman.receive(
    "pull_request",
    buildSynchronizePayload({ ...push, headSha: "dependabot-sha", sender: "dependabot[bot]" }),
  );
  await foreman.settle();
  expect(await database.sql`select state, head_sha from tasks`).toEqual([
    { state: "awaiting_agent", head_sha: "dependabot-sha" },
  ]);
  expect(await pushedByHuman()).toEqual([
    { actor: "dependabot[bot]", payload: { prNumber: 7, headSha: "dependabot-sha" } },
  ]);
});

test("the app's push reported before its job recorded the commit is Foreman's; a human's push in that window is noticed, without reading the app", async () => {
  const github = mockGitHub().token();
  mockAppSlug(github);
  const { branch } = await startTask(github);

  // The one-write push: GitHub moved the branch and reported it; the job has recorded nothing yet.
  await foreman.receive(
    "pull_request",
    buildSynchronizePayload({
      prNumber: 7,
      headRef: branch,
      headSha: "foreman-sha",
      sender: "foreman[bot]",
      senderType: "Bot",
    }),
  );
  await foreman.settle();
  expect(await database.sql`select state, head_sha from tasks`).toEqual([
    { state: "awaiting_agent", head_sha: "plan-sha" },
  ]);
  expect(await pushedByHuman()).toEqual([]);

  // octocat pushes in the same window: a person's push, known without GET /app (declared once, read once).
  await foreman.receive(
    "pull_request",
    buildSynchronizePayload({
      prNumber: 7,
      headRef: branch,
      headSha: "human-sha",
      sender: "octocat",
      senderType: "User",
    }),
  );
  await foreman.settle();
  expect(await database.sql`select state, head_sha from tasks`).toEqual([
    { state: "awaiting_agent", head_sha: "human-sha" },
  ]);
  expect(await pushedByHuman()).toEqual([{ actor: "octocat", payload: { prNumber: 7, headSha: "human-sha" } }]);
});

test("a bot's push while the app's login cannot be read is refused (GitHub delivers it again), not taken for a human's; the next delivery reads it again", async () => {
  const github = mockGitHub().token();
  github.scope.get("/app").reply(401, { message: "A JSON web token could not be decoded" });
  mockAppSlug(github);
  const { branch } = await startTask(github);
  const report = buildSynchronizePayload({
    prNumber: 7,
    headRef: branch,
    headSha: "foreman-sha",
    sender: "foreman[bot]",
    senderType: "Bot",
  });

  await expect(foreman.receive("pull_request", report, "sync-1")).rejects.toThrow();
  expect(await database.sql`select delivery_id from webhook_deliveries where delivery_id = 'sync-1'`).toEqual([]);

  // GitHub's redelivery (the reconciliation sweep asks for it): the login is read this time.
  await foreman.receive("pull_request", report, "sync-1");
  await foreman.settle();
  expect(await database.sql`select delivery_id, status from webhook_deliveries where delivery_id = 'sync-1'`).toEqual([
    { delivery_id: "sync-1", status: "done" },
  ]);
  expect(await database.sql`select state, head_sha from tasks`).toEqual([
    { state: "awaiting_agent", head_sha: "plan-sha" },
  ]);
  expect(await pushedByHuman()).toEqual([]);
});
