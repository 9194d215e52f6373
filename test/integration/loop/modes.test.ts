import { describe, expect, test } from "vitest";
import { REPO, REPO_PATH } from "../../helpers/github-mock.js";
import {
  actionWrites,
  buildLoopConfig,
  labelIssue,
  lastStatusComment,
  LOOP_BRANCH,
  LOOP_PR,
  mockLoopGitHub,
  mockRedraws,
  useLoopForeman,
  writeBodies,
  writesSince,
} from "../../helpers/loop-harness.js";
import { buildCheckSuitePayload } from "../../helpers/more-payloads.js";
import { buildIssuesPayload } from "../../helpers/payloads.js";
import { TEST_IMAGE } from "../agents/docker-available.js";

// The repository's modes in the real loop: red mode (the default branch's CI failed: only bug
// fixes start) and shadow mode (the agents run, GitHub sees nothing but the status comment).
// The production allow-list (PRODUCTION_MODE + ALLOWED_REPOS) is covered by
// test/integration/http-and-policy.test.ts ("production mode ignores repos outside ALLOWED_REPOS").

/** The branch and draft PR of issue 2 (same example title as issue 1). */
const BUGFIX_BRANCH = "agent/2-spelling-error-in-the-readme-file";
const BUGFIX_PR = 8;

const loop = useLoopForeman({ idPrefix: "e0000000" });

/** A completed GitHub Actions suite on the default branch. */
function completeDefaultBranchSuite(sha: string, conclusion: "success" | "failure", suiteId: number): Promise<void> {
  const payload = buildCheckSuitePayload({
    headBranch: REPO.defaultBranch,
    headSha: sha,
    conclusion,
    suiteId,
    app: "github-actions",
  });
  payload.repository.default_branch = REPO.defaultBranch;
  return loop.foreman.receive("check_suite", payload);
}

describe("red mode", () => {
  test("while master's CI is red an agent:ready task waits and an agent:bugfix task starts; green on master starts the waiting one", async () => {
    const config = buildLoopConfig({ pipeline: ["planner"] });
    const github = mockLoopGitHub(config);
    const { scope, display } = github;
    // Two issues, each with its task: the config and the sender's role read once per task, then a
    // branch with a plan commit, a draft PR, a status comment and one planner step on the plan commit.
    github.permission("Codertocat", "write", 2);
    scope
      .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/foreman.yml")}`)
      .query({ ref: REPO.defaultBranch })
      .times(2)
      .reply(200, {
        type: "file",
        encoding: "base64",
        content: Buffer.from(config).toString("base64"),
        path: ".github/foreman.yml",
        name: "foreman.yml",
        sha: "cfg",
      });
    scope
      .get(`${REPO_PATH}/branches/${REPO.defaultBranch}`)
      .times(2)
      .reply(200, {
        name: REPO.defaultBranch,
        commit: { sha: "base-sha", commit: { tree: { sha: "base-tree-sha" } } },
      });
    scope
      .post(`${REPO_PATH}/git/commits`, (body: { message?: string }) => body.message?.startsWith("Plan: ") === true)
      .times(2)
      .reply(201, { sha: "plan-sha" });
    for (const [issue, branch, pr, commentId] of [
      [1, LOOP_BRANCH, LOOP_PR, 9001],
      [2, BUGFIX_BRANCH, BUGFIX_PR, 9002],
    ] as const) {
      scope
        .post(`${REPO_PATH}/git/refs`, (body: { ref?: string }) => body.ref === `refs/heads/${branch}`)
        .reply(201, { ref: `refs/heads/${branch}`, object: { sha: "plan-sha" } });
      scope
        .post(`${REPO_PATH}/pulls`, (body: { head?: string }) => body.head === branch)
        .reply(201, { number: pr, html_url: `https://github.com/Codertocat/Hello-World/pull/${pr}` });
      github.labels(pr).createComment(issue, commentId);
      display.patch(`${REPO_PATH}/issues/comments/${commentId}`).optionally().reply(200, { id: commentId });
      display
        .get(`${REPO_PATH}/issues/${issue}`)
        .optionally()
        .reply(200, {
          number: issue,
          title: "Spelling error in the README file",
          body: "It says teh.",
          user: { login: "Codertocat" },
          labels: [],
        });
      display.get(`${REPO_PATH}/issues/${issue}/comments`).query({ per_page: "100" }).optionally().reply(200, []);
    }
    display.post(`${REPO_PATH}/check-runs`).optionally().reply(201, { id: 501 });
    display
      .patch(/\/repos\/Codertocat\/Hello-World\/check-runs\/\d+$/)
      .optionally()
      .reply(200, { id: 501 });
    await github.stepReads("plan-sha", { times: 2 });

    await completeDefaultBranchSuite("red-sha", "failure", 61);
    await loop.foreman.settle();
    await labelIssue(loop.foreman);
    await loop.foreman.settle();

    const [waiting] = await loop.database
      .sql`select id, state, reason, branch, pr_number from tasks where issue_number = 1`;
    expect(waiting).toMatchObject({ state: "waiting", reason: { code: "RED_MODE" }, branch: null, pr_number: null });
    // The status comment says why, and nothing else was written: no branch, no PR.
    expect(actionWrites(github)).toEqual(["POST /issues/1/comments"]);
    expect(lastStatusComment(github)).toContain("### 🚦 Foreman: waiting for the default branch to be green");
    expect(lastStatusComment(github)).toContain(
      "CI on `master` is failing (red mode), so only bug fixes start here. This task starts by itself when it is green again.",
    );
    expect(await loop.database.sql`select count(*)::int as n from agent_jobs`).toEqual([{ n: 0 }]);

    // A bug fix starts at once.
    await loop.foreman.receive(
      "issues",
      buildIssuesPayload({ action: "labeled", label: "agent:bugfix", issueNumber: 2 }),
    );
    await loop.foreman.settle();
    expect(
      await loop.database.sql`select issue_number, type, state, branch, pr_number from tasks order by issue_number`,
    ).toMatchObject([
      { issue_number: 1, state: "waiting", branch: null },
      { issue_number: 2, type: "bugfix", state: "awaiting_ci", branch: BUGFIX_BRANCH, pr_number: BUGFIX_PR },
    ]);
    expect(actionWrites(github)).toEqual([
      "POST /issues/1/comments",
      "POST /git/commits",
      "POST /git/refs",
      "POST /pulls",
      `POST /issues/${BUGFIX_PR}/labels`,
      "POST /issues/2/comments",
    ]);
    expect(writeBodies<{ ref: string }>(github, "POST", "/git/refs").map((body) => body.ref)).toEqual([
      `refs/heads/${BUGFIX_BRANCH}`,
    ]);

    // master turns green: the waiting task starts by itself.
    await completeDefaultBranchSuite("green-sha", "success", 62);
    await loop.foreman.settle();
    expect(
      await loop.database.sql`select issue_number, state, reason, branch, pr_number from tasks order by issue_number`,
    ).toMatchObject([
      { issue_number: 1, state: "awaiting_ci", reason: null, branch: LOOP_BRANCH, pr_number: LOOP_PR },
      { issue_number: 2, state: "awaiting_ci" },
    ]);
    expect(actionWrites(github).slice(6)).toEqual([
      "POST /git/commits",
      "POST /git/refs",
      "POST /pulls",
      `POST /issues/${LOOP_PR}/labels`,
    ]);
    expect(writeBodies<{ ref: string }>(github, "POST", "/git/refs").map((body) => body.ref)).toEqual([
      `refs/heads/${BUGFIX_BRANCH}`,
      `refs/heads/${LOOP_BRANCH}`,
    ]);
    expect(lastStatusComment(github)).toContain("### 🧪 Foreman: changes pushed, waiting for CI");
    // The planner pushes nothing: both heads are the empty plan commit, which gets no check run.
    expect(github.writes().filter((request) => request.path.includes("/check-runs"))).toEqual([]);
    // The red and the green suite are on the record; the waiting task's start names the green one's event.
    const suites = await loop.database
      .sql`select payload->>'headBranch' as branch, payload->>'conclusion' as conclusion from compliance_records where kind = 'ci.suite_completed' order by seq`;
    expect(suites.map((suite) => `${suite.branch}:${suite.conclusion}`)).toEqual(["master:failure", "master:success"]);
    const started = await loop.database
      .sql`select payload from compliance_records where task_id = ${waiting!.id} and kind = 'task.transition' and payload->>'from' = 'waiting'`;
    expect(started).toMatchObject([{ payload: { event: "repo_turned_green", to: "preparing" } }]);
  }, 60_000);
});

describe("shadow mode", () => {
  test("the agents run in containers, GitHub gets only the status comment, and the task completes with the steps' results in it", async () => {
    const config = buildLoopConfig({ extra: ["mode: shadow"] });
    const github = mockLoopGitHub(config);
    // Reads: the sender's role, the config, master's head (to run on); one status comment, then edits.
    github.permission("Codertocat", "write").config(config).branch("base-sha", "base-tree-sha").createComment(1);
    mockRedraws(github);
    // Every step works on master's head: nothing is pushed, so there is no other commit.
    await github.stepReads("base-sha", { times: 3 });

    await labelIssue(loop.foreman);
    await loop.foreman.settle();

    expect(await loop.database.sql`select state, branch, pr_number, head_sha from tasks`).toMatchObject([
      { state: "completed", branch: null, pr_number: null, head_sha: "base-sha" },
    ]);
    // Three containers ran, on master's head, and none pushed.
    const jobs = await loop.database
      .sql`select role, status, image, exit_code, base_sha, pushed_sha from agent_jobs order by created_at, id`;
    expect(jobs.map((job) => ({ ...job }))).toEqual(
      ["planner", "coder", "reviewer"].map((role) => ({
        role,
        status: "succeeded",
        image: TEST_IMAGE,
        exit_code: 0,
        base_sha: "base-sha",
        pushed_sha: null,
      })),
    );
    // The reviewer still reviewed the coder's (unpushed) change.
    const [reviewer] = await loop.database.sql`select prompt from agent_jobs where role = 'reviewer'`;
    expect(reviewer!.prompt).toContain("# The coder step's change (shadow mode: not pushed)");
    const finished = await loop.database
      .sql`select payload->>'role' as role, payload->>'push' as push from compliance_records where kind = 'agent_job.finished' order by seq`;
    expect(finished.map((record) => `${record.role}:${record.push}`)).toEqual([
      "planner:skipped_review_role",
      "coder:skipped_shadow",
      "reviewer:skipped_review_role",
    ]);
    // GitHub: the status comment, created once and edited; no git write, no PR, no review, no check run.
    expect(actionWrites(github)).toEqual(["POST /issues/1/comments"]);
    expect(new Set(writesSince(github, 1))).toEqual(new Set(["PATCH /issues/comments/9001"]));
    // The job log link names the last job and its token.
    const [last] = await loop.database
      .sql`select id, log_token from agent_jobs order by created_at desc, id desc limit 1`;
    const comment = lastStatusComment(github);
    expect(comment).toContain(
      `[latest job](https://foreman.example.test/jobs/${last!.id}/log?token=${last!.log_token})`,
    );
    expect(comment).toContain(
      "### 🌒 Foreman: shadow run finished\n\nShadow mode: the agents ran, and nothing was pushed or opened. Their results are below.",
    );
    expect(comment).toContain("| State | `completed` |");
    expect(comment).toMatch(
      /- ✅ `planner` — Planned the fix\.[\s\S]*- ✅ `coder` — Fixed the spelling in README\.md\.[\s\S]*- ✅ `reviewer` — The change is right\./,
    );
    expect(comment).toContain(
      "<details><summary>The planner's plan</summary>\n\n1. Fix the spelling of 'the' in README.md.\n2. Nothing else.\n\n</details>",
    );
    expect(comment).not.toMatch(/\| (Branch|Pull request) \|/);
  }, 60_000);
});
