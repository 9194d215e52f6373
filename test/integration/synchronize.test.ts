import { afterEach, beforeEach, expect, test } from "vitest";
import { recordJobPush } from "../../src/db/queries/record-job-push.js";
import { mockGitHub, mockLabelToDraftPr } from "../helpers/github-mock.js";
import { buildSynchronizePayload } from "../helpers/more-payloads.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// A push to a task's branch is Foreman's own only when its commit is one Foreman's job recorded
// before moving the branch; a push by any other bot is kept like a human's. (The human push in
// the whole loop is in loop/ci-loop.test.ts.)

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

test("Foreman's recorded push changes nothing even before its job's end is stored; another bot's push moves the head", async () => {
  const github = mockGitHub().token();
  mockLabelToDraftPr(github, 1, 7);
  await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
  await foreman.settle();
  const [task] = await database.sql`select id, state, branch, head_sha from tasks`;
  expect(task).toMatchObject({ state: "awaiting_agent", head_sha: "plan-sha" });
  const [job] = await database.sql`select id from agent_jobs where task_id = ${task!.id}`;

  // The job is about to move the branch: its commit is recorded first, so GitHub's report of it,
  // arriving while the job's end is not yet stored, is Foreman's own push.
  await recordJobPush(database.sql, String(job!.id), "foreman-sha");
  const push = { prNumber: 7, headRef: String(task!.branch), senderType: "Bot" as const };
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
