import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mockGitHub, mockLabelToDraftPr, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildCheckSuitePayload } from "../helpers/more-payloads.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// Red mode (the default branch's CI failed: only bug fixes start) counts only the repository's own
// default branch and only the CI apps `ci.apps` names: a fork's `main`, or another app, flips nothing.
// The whole loop with red mode, green waking the waiting task, is in loop/modes.test.ts.

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database);
});
afterEach(async () => {
  await foreman.stop();
});

const FORK_ID = 999_001;

/** A completed suite on a branch named like the default branch, pushed to this repository unless changed. */
function defaultBranchSuite(options: {
  conclusion: "success" | "failure";
  app?: string;
  suiteId: number;
  fork?: "pull request from a fork" | "no push here";
}): Record<string, any> {
  const payload = buildCheckSuitePayload({
    headBranch: REPO.defaultBranch,
    headSha: `sha-${options.suiteId}`,
    conclusion: options.conclusion,
    suiteId: options.suiteId,
    app: options.app ?? "github-actions",
  });
  payload.repository.default_branch = REPO.defaultBranch;
  if (options.fork === "pull request from a fork") {
    const fork = { id: FORK_ID, name: REPO.name, url: `https://api.github.com/repos/someone/${REPO.name}` };
    const base = { id: REPO.id, name: REPO.name, url: `https://api.github.com${REPO_PATH}` };
    payload.check_suite.pull_requests = [
      {
        id: 1,
        number: 12,
        url: `https://api.github.com${REPO_PATH}/pulls/12`,
        head: { ref: REPO.defaultBranch, sha: payload.check_suite.head_sha, repo: fork },
        base: { ref: REPO.defaultBranch, sha: "base-sha", repo: base },
      },
    ];
  }
  if (options.fork === "no push here") {
    payload.check_suite.before = null;
    payload.check_suite.after = null;
  }
  return payload;
}

async function labelIssue(): Promise<void> {
  await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
  await foreman.settle();
}

async function taskState() {
  return database.sql`select state, reason from tasks`;
}

describe("red mode", () => {
  test("a failed suite of the configured CI on the repository's own default branch makes a new task wait; another app's green does not start it", async () => {
    const github = mockGitHub().token();
    github.permission("Codertocat", "write").config(null).createComment(1);
    await foreman.receive("check_suite", defaultBranchSuite({ conclusion: "failure", suiteId: 71 }));
    await foreman.settle();
    await labelIssue();
    expect(await taskState()).toEqual([{ state: "waiting", reason: expect.objectContaining({ code: "RED_MODE" }) }]);

    // codecov is not this repository's CI (`ci.apps` defaults to github-actions): its green changes nothing.
    await foreman.receive("check_suite", defaultBranchSuite({ conclusion: "success", suiteId: 72, app: "codecov" }));
    await foreman.settle();
    expect(await taskState()).toEqual([{ state: "waiting", reason: expect.objectContaining({ code: "RED_MODE" }) }]);
    expect(
      await database.sql`select count(*)::int as n from webhook_deliveries where event_name = 'repo_turned_green'`,
    ).toEqual([{ n: 0 }]);
    expect(github.writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
  });

  test.each([
    ["a fork's pull request from its own `master`", { fork: "pull request from a fork" as const }],
    ["a suite no push to this repository made (a fork's `master`)", { fork: "no push here" as const }],
    ["another app's suite (not in `ci.apps`)", { app: "circleci" }],
  ])("%s that failed does not make a new task wait", async (_what, options) => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("check_suite", defaultBranchSuite({ conclusion: "failure", suiteId: 81, ...options }));
    await foreman.settle();
    await labelIssue();
    expect(await taskState()).toEqual([{ state: "awaiting_agent", reason: null }]);
  });

  test("the apps `ci.apps` names are the ones that count: their failure makes a task wait, github-actions' does not", async () => {
    const github = mockGitHub().token();
    github.permission("Codertocat", "write").config("ci:\n  apps: [circleci]\n").createComment(1);
    await foreman.receive("check_suite", defaultBranchSuite({ conclusion: "failure", suiteId: 91, app: "circleci" }));
    // The later github-actions green is not this repository's CI: circleci's failure still decides.
    await foreman.receive("check_suite", defaultBranchSuite({ conclusion: "success", suiteId: 92 }));
    await foreman.settle();
    await labelIssue();
    expect(await taskState()).toEqual([{ state: "waiting", reason: expect.objectContaining({ code: "RED_MODE" }) }]);
  });
});
