/**
 * CI as teams have it, with real containers and GitHub answered at the HTTP boundary (strict nock):
 * a CI that reports through commit statuses (Jenkins), a default branch whose ruleset requires one
 * of two checks, and a freeze label that arrives on the draft PR before the task knows its number.
 */
import { describe, expect, test } from "vitest";
import {
  buildLoopConfig,
  completeSuite,
  LOOP_BRANCH,
  LOOP_PR,
  labelIssue,
  mockLoopGitHub,
  readLoopJobs,
  readLoopTask,
  useLoopForeman,
} from "../../helpers/loop-harness.js";
import { REPO, REPO_PATH } from "../../helpers/github-mock.js";
import { buildStatusPayload } from "../../helpers/more-payloads.js";
import { buildPullRequestPayload } from "../../helpers/payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

const loop = useLoopForeman({ idPrefix: "c1700000" });
const JENKINS = "ci/jenkins/pr-head";

/** Label → coder (one step) → its commit `code-sha`, awaiting CI. */
async function runCoder(extra: string[]) {
  const github = mockLoopGitHub(buildLoopConfig({ pipeline: ["coder"], extra })).draftPr();
  await github.stepReads("plan-sha");
  github.push("plan-sha", "code-sha");
  await labelIssue(loop.foreman);
  await loop.foreman.settle();
  expect(await readLoopTask(loop.database)).toMatchObject({ state: "awaiting_ci", head_sha: "code-sha" });
  return github;
}

/** What collect_ci_result reads on `sha`: no suites, these statuses, and no required checks. */
function mockStatusVerdict(
  github: ReturnType<typeof mockLoopGitHub>,
  sha: string,
  statuses: Array<{ context: string; state: string; description?: string; target_url?: string }>,
) {
  github.scope
    .get(`${REPO_PATH}/commits/${sha}/check-suites`)
    .query(true)
    .reply(200, { total_count: 0, check_suites: [] });
  github.scope
    .get(`${REPO_PATH}/commits/${sha}/status`)
    .query({ per_page: "100" })
    .reply(200, {
      state: "failure",
      statuses: statuses.map((status) => ({ description: null, target_url: null, ...status })),
    });
  github.scope.get(`${REPO_PATH}/rules/branches/${REPO.defaultBranch}`).query({ per_page: "100" }).reply(200, []);
  github.scope
    .get(`${REPO_PATH}/branches/${REPO.defaultBranch}`)
    .reply(200, { name: REPO.defaultBranch, protected: false });
}

function reportStatus(sha: string, state: "pending" | "success" | "failure", id: number) {
  return loop.foreman.receive(
    "status",
    buildStatusPayload({
      sha,
      context: JENKINS,
      state,
      // GitHub lists the branches that hold the commit: the default branch does not, the task's does.
      branches: ["feature/other", LOOP_BRANCH],
      description: state === "failure" ? "Build #12 failed: 2 tests" : "Build #13 passed",
      targetUrl: "https://jenkins.example/job/hello/12/",
      id,
    }),
  );
}

describe("CI as teams have it", () => {
  test("a repository whose CI is a Jenkins commit status: red (the ci_fixer is told the status has no log) then green → ready", async () => {
    const github = await runCoder(["ci:", `  statuses: ["ci/jenkins/*"]`]);

    // Pending says CI runs, and reads nothing.
    await reportStatus("code-sha", "pending", 1);
    await loop.foreman.settle();
    expect(github.reads().some((request) => request.path.includes("/status"))).toBe(false);

    // Red: the ci_fixer runs on code-sha with the status's description and link.
    mockStatusVerdict(github, "code-sha", [
      {
        context: JENKINS,
        state: "failure",
        description: "Build #12 failed: 2 tests",
        target_url: "https://jenkins.example/job/hello/12/",
      },
    ]);
    await github.stepReads("code-sha");
    github.push("code-sha", "fix-sha");
    await reportStatus("code-sha", "failure", 2);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "fix-sha",
      pipeline: { ciAttempts: 1 },
    });
    const fixer = (await readLoopJobs(loop.database)).at(-1)!;
    expect(fixer).toMatchObject({ role: "ci_fixer", base_sha: "code-sha" });
    expect(fixer.prompt).toContain(`### ${JENKINS}`);
    expect(fixer.prompt).toContain("Build #12 failed: 2 tests");
    expect(fixer.prompt).toContain("Details: https://jenkins.example/job/hello/12/");
    expect(fixer.prompt).toContain("GitHub has only its description and a link, no output and no log");

    // Green on the fix: out of draft.
    mockStatusVerdict(github, "fix-sha", [{ context: JENKINS, state: "success" }]);
    // The check run is still on the coder's commit: ready's redraw creates fix-sha's by REST.
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady({ checkRun: "absent" });
    await reportStatus("fix-sha", "success", 3);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({ state: "ready_for_review", head_sha: "fix-sha" });
  }, 120_000);

  test("a ruleset that requires one of two check runs: the optional one failing does not block, the PR goes ready", async () => {
    const github = await runCoder([]);
    // The Actions suite failed as a whole (lint), but the branch requires only `build`.
    github.scope
      .get(`${REPO_PATH}/commits/code-sha/check-suites`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_suites: [
          { id: 42, status: "completed", conclusion: "failure", head_sha: "code-sha", app: { slug: "github-actions" } },
        ],
      });
    github.scope.get(`${REPO_PATH}/commits/code-sha/status`).query({ per_page: "100" }).reply(200, { statuses: [] });
    github.scope
      .get(`${REPO_PATH}/rules/branches/${REPO.defaultBranch}`)
      .query({ per_page: "100" })
      .reply(200, [
        { type: "deletion", ruleset_id: 1 },
        {
          type: "required_status_checks",
          ruleset_id: 1,
          parameters: { strict_required_status_checks_policy: false, required_status_checks: [{ context: "build" }] },
        },
      ]);
    github.scope
      .get(`${REPO_PATH}/branches/${REPO.defaultBranch}`)
      .reply(200, { name: REPO.defaultBranch, protected: false });
    const run = (id: number, name: string, conclusion: string) => ({
      id,
      name,
      status: "completed",
      conclusion,
      app: { slug: "github-actions" },
      output: { title: null, summary: null, text: null, annotations_count: 0 },
    });
    github.scope
      .get(`${REPO_PATH}/commits/code-sha/check-runs`)
      .query({ filter: "latest", per_page: "100" })
      .reply(200, { total_count: 2, check_runs: [run(421, "build", "success"), run(422, "lint", "failure")] });
    // A coder-only pipeline has drawn no check run before CI's verdict: ready's redraw creates it by REST.
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady({ checkRun: "absent" });

    await completeSuite(loop.foreman, "code-sha", "failure", 42);
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({ state: "ready_for_review", head_sha: "code-sha" });
    expect((await readLoopJobs(loop.database)).map((job) => job.role)).toEqual(["coder"]);
    // The record says what decided and what was required.
    const [effect] = await loop.database.sql`
      select payload from compliance_records where kind = 'effect.collect_ci_result' order by seq desc limit 1`;
    expect(effect!.payload).toMatchObject({ verdict: "success", rule: "required", required: ["build"] });
  }, 120_000);

  test("a freeze label on the draft PR that arrives before Foreman has recorded the PR still freezes the task", async () => {
    const github = mockLoopGitHub(buildLoopConfig());
    const { scope } = github;
    github.permission("Codertocat", "write");
    github.config(buildLoopConfig()).branch("base-sha", "base-tree-sha").planCommit("plan-sha").createRef();
    // GitHub creates the PR, and sends its webhooks, before it answers Foreman: the label comes first.
    let labelled: Promise<void> | undefined;
    scope.post(`${REPO_PATH}/pulls`).reply(201, async () => {
      labelled = loop.foreman.receive(
        "pull_request",
        buildPullRequestPayload({
          action: "labeled",
          prNumber: LOOP_PR,
          headRef: LOOP_BRANCH,
          label: "needs-human-review",
          sender: "lead",
        }),
      );
      await labelled;
      return {
        number: LOOP_PR,
        html_url: `https://github.com/${REPO.owner}/${REPO.name}/pull/${LOOP_PR}`,
        node_id: "PR_1",
      };
    });
    github.createComment(1);
    github.display.patch(`${REPO_PATH}/issues/comments/9001`).optionally().reply(200, { id: 9001 });
    github.display
      .get(`${REPO_PATH}/issues/1`)
      .optionally()
      .reply(200, {
        number: 1,
        title: "Spelling error in the README file",
        body: "",
        user: { login: "Codertocat" },
        labels: [],
      });

    await labelIssue(loop.foreman);
    await loop.foreman.settle();
    await labelled;
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({ state: "frozen" });
    const [task] = await loop.database.sql`select pr_number, frozen_by, resume_state from tasks`;
    expect(task).toMatchObject({ pr_number: LOOP_PR, frozen_by: "lead" });
    // No agent ran and nothing but the status comment was written: the freeze held from the moment
    // it arrived. The planner's job and the PR's labels wait for the freeze to be lifted.
    const jobs = await loop.database.sql`select role, status from agent_jobs`;
    expect(jobs.map((job) => `${job.role}:${job.status}`)).toEqual(["planner:queued"]);
    const held = await loop.database.sql`select kind from effects where status = 'pending'`;
    expect(held.map((effect) => effect.kind)).toEqual(["add_labels"]);
  }, 120_000);
});
