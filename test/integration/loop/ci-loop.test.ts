import { describe, expect, test } from "vitest";
import {
  actionWrites,
  buildLoopConfig,
  commentAsUser,
  completeSuite,
  labelIssue,
  LOOP_BRANCH,
  LOOP_PR,
  mockLoopGitHub,
  PIPELINE_WRITES,
  PUSH_WRITES,
  readLoopJobs,
  readLoopTask,
  useLoopForeman,
} from "../../helpers/loop-harness.js";
import { REPO_PATH } from "../../helpers/github-mock.js";
import { buildSynchronizePayload } from "../../helpers/more-payloads.js";
import { buildPullRequestPayload } from "../../helpers/payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// The CI loop with real containers: CI fails on the head, a ci_fixer step gets the failing check
// and pushes, CI is read again; after maxCiAttempts the task goes to a human.

const loop = useLoopForeman({ idPrefix: "b0000000" });

/** The summary of the failing `lint` check the simulated CI reports (see `ciVerdict`). */
const LINT_SUMMARY = "README.md:2 needs a note line";

/** Label → plan → code → review, with the code step's commit left as `code-sha`, awaiting CI. `codeShaReads` counts the steps that start from code-sha. */
async function runPipeline(config: string, codeShaReads: number) {
  const github = mockLoopGitHub(config).draftPr();
  await github.stepReads("plan-sha", { times: 2 }); // planner and coder
  github.push("plan-sha", "code-sha");
  await github.stepReads("code-sha", { times: codeShaReads }); // reviewer (and a fixer on code-sha)
  github.diff("code-sha").review();
  await labelIssue(loop.foreman);
  await loop.foreman.settle();
  expect(await readLoopTask(loop.database)).toMatchObject({
    state: "awaiting_ci",
    head_sha: "code-sha",
    step: "reviewer",
  });
  return github;
}

describe("the CI loop", () => {
  test("CI red on every head → a ci_fixer step per failure, each told the failing check → escalated after maxCiAttempts (2) with the label and a comment → /foreman retry by a writer runs another ci_fixer", async () => {
    const github = await runPipeline(buildLoopConfig({ extra: ["maxCiAttempts: 2"] }), 2);

    // CI fails on the code step's commit: the first ci_fixer runs on it and pushes.
    github.ciVerdict("code-sha", "failure", 42);
    github.push("code-sha", "fix1-sha");
    await completeSuite(loop.foreman, "code-sha", "failure", 42);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "fix1-sha",
      step: "ci_fixer",
      pipeline: { ciAttempts: 1 },
    });
    const fixer1 = (await readLoopJobs(loop.database)).at(-1)!;
    expect(fixer1).toMatchObject({ role: "ci_fixer", status: "succeeded", base_sha: "code-sha" });
    expect(fixer1.prompt).toContain("### lint");
    expect(fixer1.prompt).toContain(LINT_SUMMARY);

    // CI fails on the fix too: the second (and last) ci_fixer runs on fix1-sha.
    github.ciVerdict("fix1-sha", "failure", 43);
    await github.stepReads("fix1-sha");
    github.push("fix1-sha", "fix2-sha");
    await completeSuite(loop.foreman, "fix1-sha", "failure", 43);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "fix2-sha",
      pipeline: { ciAttempts: 2 },
    });
    expect((await readLoopJobs(loop.database)).at(-1)).toMatchObject({
      role: "ci_fixer",
      status: "succeeded",
      base_sha: "fix1-sha",
    });

    // CI fails a third time: the attempts are spent, a human is asked.
    github.ciVerdict("fix2-sha", "failure", 44).escalationLabel().escalationComment();
    await completeSuite(loop.foreman, "fix2-sha", "failure", 44);
    await loop.foreman.settle();

    const escalated = await readLoopTask(loop.database);
    expect(escalated).toMatchObject({
      state: "escalated",
      head_sha: "fix2-sha",
      reason: { code: "CI_FAILED_TOO_OFTEN" },
    });
    expect((await readLoopJobs(loop.database)).map((job) => job.role)).toEqual([
      "planner",
      "coder",
      "reviewer",
      "ci_fixer",
      "ci_fixer",
    ]);
    expect(actionWrites(github)).toEqual([
      ...PIPELINE_WRITES,
      ...PUSH_WRITES,
      ...PUSH_WRITES,
      `POST /issues/${LOOP_PR}/labels`,
      `POST /issues/${LOOP_PR}/comments`,
    ]);
    const writes = github.writes();
    expect(
      writes.filter((request) => request.path.endsWith(`/issues/${LOOP_PR}/labels`)).map((request) => request.body),
    ).toEqual([{ labels: ["ai-generated"] }, { labels: ["needs-human-review"] }]);
    // Never marked ready.
    expect(writes.some(isMarkReady)).toBe(false);
    const escalation = (
      writes.filter((request) => request.path.endsWith(`/issues/${LOOP_PR}/comments`)).at(-1)!.body as { body: string }
    ).body;
    expect(loop.stable(escalation)).toMatchInlineSnapshot(`
      "<!-- foreman:escalated:b0000000-0000-4000-8000-000000000001:fix2-sha -->
      ### 🙋 Foreman needs a human here

      CI still fails (\`lint\`) after 2 ci_fixer attempts (the limit is 2), so Foreman stopped and asks a human to look.

      **What failed**
      - **lint**: 1 error · README.md:2 needs a note line

      **What Foreman tried**
      1. pushed fix1-sh: Made the lint check pass.
      2. pushed fix2-sh: Made the lint check pass.

      Push a fix to this branch, or comment \`/foreman retry\` to give the agents another 2 attempts."
    `);

    // GitHub tells Foreman about the label it added itself: the task stays escalated (it is not a freeze).
    const labeled = buildPullRequestPayload({
      action: "labeled",
      prNumber: LOOP_PR,
      headRef: LOOP_BRANCH,
      label: "needs-human-review",
      sender: "foreman[bot]",
    });
    labeled.sender.type = "Bot";
    await loop.foreman.receive("pull_request", labeled);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({ state: "escalated" });
    expect(actionWrites(github)).toHaveLength(PIPELINE_WRITES.length + 2 * PUSH_WRITES.length + 2);

    // A writer asks to retry on the PR: Foreman says so on the issue, takes the label off the PR and
    // runs another ci_fixer on fix2-sha.
    github.permission("octocat", "write").issueComments("foreman:answer:").escalationLabelRemoved();
    await github.stepReads("fix2-sha");
    github.push("fix2-sha", "fix3-sha");
    await commentAsUser(loop.foreman, { body: "/foreman retry", sender: "octocat", commentId: 7001 });
    await loop.foreman.settle();

    expect(
      github
        .reads()
        .filter((request) => request.path.endsWith("/permission"))
        .map((request) => request.path),
    ).toEqual([
      `${REPO_PATH}/collaborators/Codertocat/permission`, // the label's sender
      `${REPO_PATH}/collaborators/octocat/permission`, // the retry's sender
    ]);
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "fix3-sha",
      reason: null,
      pipeline: { ciAttempts: 1 },
    });
    const jobs = await readLoopJobs(loop.database);
    expect(jobs.map((job) => job.role)).toEqual(["planner", "coder", "reviewer", "ci_fixer", "ci_fixer", "ci_fixer"]);
    // The retry's fixer is told what failed last (the failures kept at escalation).
    expect(jobs.at(-1)).toMatchObject({ role: "ci_fixer", status: "succeeded", base_sha: "fix2-sha" });
    expect(jobs.at(-1)!.prompt).toContain(LINT_SUMMARY);
    expect(actionWrites(github).slice(PIPELINE_WRITES.length + 2 * PUSH_WRITES.length + 2)).toEqual([
      "POST /issues/1/comments",
      `DELETE /issues/${LOOP_PR}/labels/needs-human-review`,
      ...PUSH_WRITES,
    ]);
    const note = (
      github
        .writes()
        .find(
          (request) =>
            request.path.endsWith("/issues/1/comments") && JSON.stringify(request.body).includes("foreman:answer:"),
        )!.body as { body: string }
    ).body;
    expect(loop.stable(note)).toMatchInlineSnapshot(`
      "<!-- foreman:answer:b0000000-0000-4000-8000-000000000001:retry:octocat:c7001 -->
      @octocat asked to retry: Foreman runs another ci_fixer step (up to 2 CI attempts)."
    `);
    expect(github.writes().some(isMarkReady)).toBe(false);
  }, 60_000);

  test("with the default maxCiAttempts (3), three ci_fixer steps run before the task is escalated", async () => {
    const github = await runPipeline(buildLoopConfig(), 2);
    const heads = ["code-sha", "fix1-sha", "fix2-sha", "fix3-sha"];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const head = heads[attempt]!;
      github.ciVerdict(head, "failure", 42 + attempt);
      if (attempt > 0) await github.stepReads(head);
      github.push(head, heads[attempt + 1]!);
      await completeSuite(loop.foreman, head, "failure", 42 + attempt);
      await loop.foreman.settle();
      expect(await readLoopTask(loop.database)).toMatchObject({
        state: "awaiting_ci",
        head_sha: heads[attempt + 1],
        pipeline: { ciAttempts: attempt + 1 },
      });
    }
    github.ciVerdict("fix3-sha", "failure", 45).escalationLabel().escalationComment();
    await completeSuite(loop.foreman, "fix3-sha", "failure", 45);
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "escalated",
      head_sha: "fix3-sha",
      pipeline: { ciAttempts: 3 },
    });
    expect(
      (await readLoopJobs(loop.database)).filter((job) => job.role === "ci_fixer").map((job) => job.base_sha),
    ).toEqual(["code-sha", "fix1-sha", "fix2-sha"]);
    expect(actionWrites(github)).toEqual([
      ...PIPELINE_WRITES,
      ...PUSH_WRITES,
      ...PUSH_WRITES,
      ...PUSH_WRITES,
      `POST /issues/${LOOP_PR}/labels`,
      `POST /issues/${LOOP_PR}/comments`,
    ]);
    expect(
      github
        .writes()
        .filter((request) => request.path.endsWith(`/issues/${LOOP_PR}/labels`))
        .at(-1)!.body,
    ).toEqual({ labels: ["needs-human-review"] });
    const escalation = (
      github
        .writes()
        .filter((request) => request.path.endsWith(`/issues/${LOOP_PR}/comments`))
        .at(-1)!.body as { body: string }
    ).body;
    expect(escalation).toContain("after 3 ci_fixer attempts (the limit is 3)");
    expect(escalation).toMatch(/1\. pushed fix1-sh[\s\S]*2\. pushed fix2-sh[\s\S]*3\. pushed fix3-sh/);
    expect(github.writes().some(isMarkReady)).toBe(false);
  }, 60_000);

  test("CI red, then green after one ci_fixer step → ready for review, with no escalation", async () => {
    const github = await runPipeline(buildLoopConfig(), 2);

    github.ciVerdict("code-sha", "failure", 42);
    github.push("code-sha", "fix1-sha");
    await completeSuite(loop.foreman, "code-sha", "failure", 42);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "fix1-sha",
      pipeline: { ciAttempts: 1 },
    });
    const fixer = (await readLoopJobs(loop.database)).at(-1)!;
    expect(fixer).toMatchObject({ role: "ci_fixer", status: "succeeded", base_sha: "code-sha" });
    expect(fixer.prompt).toContain(LINT_SUMMARY);

    github.ciVerdict("fix1-sha", "success", 43);
    // The task's check run is still the reviewed commit's: ready's redraw creates fix1-sha's by REST.
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady({ checkRun: "absent" });
    await completeSuite(loop.foreman, "fix1-sha", "success", 43);
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "ready_for_review",
      head_sha: "fix1-sha",
      reason: null,
    });
    expect((await readLoopJobs(loop.database)).map((job) => job.role)).toEqual([
      "planner",
      "coder",
      "reviewer",
      "ci_fixer",
    ]);
    expect(actionWrites(github)).toEqual([...PIPELINE_WRITES, ...PUSH_WRITES, "POST /graphql"]);
    // No escalation: the PR's only label is the one it opened with, and no escalation comment.
    expect(
      github
        .writes()
        .filter((request) => request.path.endsWith(`/issues/${LOOP_PR}/labels`))
        .map((request) => request.body),
    ).toEqual([{ labels: ["ai-generated"] }]);
    expect(JSON.stringify(github.writes())).not.toContain("foreman:escalated:");
    // The check run left on the reviewed commit was completed when the fix moved the head on.
    const superseded = github
      .writes()
      .filter(
        (request) => request.method === "PATCH" && JSON.stringify(request.body).includes("Superseded by fix1-sh"),
      );
    expect(superseded.map((request) => request.body)).toEqual([
      expect.objectContaining({ status: "completed", conclusion: "neutral" }),
    ]);
  }, 60_000);

  test("a human pushes while the task awaits CI → the head moves to the human's commit; CI on the old head moves nothing; CI green on the human's commit → ready for review", async () => {
    const github = await runPipeline(buildLoopConfig(), 1);
    const before = actionWrites(github).length;

    // octocat pushes on top of the agents' work (GitHub says so with pull_request.synchronize).
    await loop.foreman.receive(
      "pull_request",
      buildSynchronizePayload({
        prNumber: LOOP_PR,
        headRef: LOOP_BRANCH,
        headSha: "human-sha",
        sender: "octocat",
        senderType: "User",
      }),
    );
    await loop.foreman.settle();
    expect(
      await loop.database
        .sql`select state, head_sha, pipeline->>'waitingCiSha' as waiting, pipeline->'ci' as ci from tasks`,
    ).toMatchObject([{ state: "awaiting_ci", head_sha: "human-sha", waiting: "human-sha", ci: null }]);
    // The foreman check run moves to the human's commit; nothing else is written.
    expect(actionWrites(github).slice(before)).toEqual([]);
    // CI is awaited on the human's commit (with the missing-CI timer for it).
    expect(
      await loop.database
        .sql`select delivery_id from webhook_deliveries where delivery_id like 'timer:ci:%' order by delivery_id`,
    ).toEqual([
      { delivery_id: `timer:ci:${loop.id(1)}:code-sha` },
      { delivery_id: `timer:ci:${loop.id(1)}:human-sha` },
    ]);
    const checkRuns = github
      .writes()
      .filter((request) => request.method === "POST" && request.path.endsWith("/check-runs"));
    expect(checkRuns.at(-1)!.body).toMatchObject({ head_sha: "human-sha", status: "in_progress" });

    // CI fails on the agents' old head: recorded, but the task no longer waits for it (no read, no ci_fixer).
    await completeSuite(loop.foreman, "code-sha", "failure", 42);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "human-sha",
      pipeline: { ciAttempts: 0 },
    });
    expect((await readLoopJobs(loop.database)).map((job) => job.role)).toEqual(["planner", "coder", "reviewer"]);
    expect(github.reads().some((request) => request.path.includes("/check-suites"))).toBe(false);

    // CI is green on the human's commit: the PR is ready.
    github.ciVerdict("human-sha", "success", 43);
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady();
    await completeSuite(loop.foreman, "human-sha", "success", 43);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "ready_for_review",
      head_sha: "human-sha",
      reason: null,
    });
    expect(actionWrites(github)).toEqual([...PIPELINE_WRITES, "POST /graphql"]);
    // On the record: the human's push, and both suites (the old head's as not on the task's head).
    const records = await loop.database
      .sql`select kind, actor, payload from compliance_records where kind in ('branch.pushed_by_human', 'ci.suite_completed') order by seq`;
    expect(records).toMatchObject([
      { kind: "branch.pushed_by_human", actor: "octocat", payload: { prNumber: LOOP_PR, headSha: "human-sha" } },
      { kind: "ci.suite_completed", payload: { headSha: "code-sha", conclusion: "failure", onTaskHead: false } },
      { kind: "ci.suite_completed", payload: { headSha: "human-sha", conclusion: "success", onTaskHead: true } },
    ]);
  }, 60_000);

  test("a second escalation (after /foreman retry) gets its own PR comment, even when GitHub fails the first try to post it", async () => {
    const github = await runPipeline(buildLoopConfig({ extra: ["maxCiAttempts: 1"] }), 2);
    // The PR's comments as GitHub keeps them: the escalation comments are answered in turn (the
    // second one fails once), and reading the PR's comments returns what was posted.
    const answers = [201, 502, 201];
    const posted: Array<{ id: number; body: string }> = [];
    let requested = "";
    github.scope
      .post(`${REPO_PATH}/issues/${LOOP_PR}/comments`, (body: { body?: string }) => {
        requested = body.body ?? "";
        return requested.includes("foreman:escalated:");
      })
      .times(answers.length)
      // (nock 15 hands a reply function the request only; a function of two parameters is taken as
      // callback style and never answers unless it calls back.)
      .reply(() => {
        const status = answers.shift()!;
        if (status !== 201) return [status, { message: "Server Error" }];
        const comment = { id: 810 + posted.length, body: requested };
        posted.push(comment);
        return [201, comment];
      });
    // Read once: by the retried second escalation, looking for its marker.
    github.scope
      .get(`${REPO_PATH}/issues/${LOOP_PR}/comments`)
      .query({ per_page: "100" })
      .reply(200, () => posted);
    github.escalationLabel(2);

    // CI red → one ci_fixer → CI red again: escalated (the limit is 1).
    github.ciVerdict("code-sha", "failure", 42);
    github.push("code-sha", "fix1-sha");
    await completeSuite(loop.foreman, "code-sha", "failure", 42);
    await loop.foreman.settle();
    github.ciVerdict("fix1-sha", "failure", 43);
    await completeSuite(loop.foreman, "fix1-sha", "failure", 43);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({ state: "escalated", head_sha: "fix1-sha" });
    expect(posted).toHaveLength(1);

    // A writer retries: the label comes off the PR (already gone: 404), another ci_fixer, CI red again, escalated again.
    github.permission("octocat", "write").issueComments("foreman:answer:").escalationLabelRemoved(404);
    await github.stepReads("fix1-sha");
    github.push("fix1-sha", "fix2-sha");
    await commentAsUser(loop.foreman, { body: "/foreman retry", sender: "octocat", commentId: 7002 });
    await loop.foreman.settle();
    github.ciVerdict("fix2-sha", "failure", 44);
    await completeSuite(loop.foreman, "fix2-sha", "failure", 44);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({ state: "escalated", head_sha: "fix2-sha" });

    // The second escalation says what this round tried (fix2-sha). Its first POST failed, so the
    // retried effect looks for its marker first — and must not mistake the first escalation's comment
    // for it (each escalation's comment has a marker of its own).
    expect(answers).toEqual([]); // three POSTs: the first escalation, the failed try, its retry
    const escalationWrites = [`POST /issues/${LOOP_PR}/labels`, `POST /issues/${LOOP_PR}/comments`];
    expect(actionWrites(github)).toEqual([
      ...PIPELINE_WRITES,
      ...PUSH_WRITES,
      ...escalationWrites,
      "POST /issues/1/comments", // the answer to /foreman retry
      `DELETE /issues/${LOOP_PR}/labels/needs-human-review`,
      ...PUSH_WRITES,
      ...escalationWrites,
      `POST /issues/${LOOP_PR}/comments`, // the retry of the failed post
    ]);
    const escalations = posted.filter((comment) => comment.body.includes("foreman:escalated:"));
    expect(escalations).toHaveLength(2);
    expect(escalations[1]!.body).toContain("1. pushed fix2-sh: Made the lint check pass.");
    expect(escalations[0]!.body.split("\n")[0]).not.toBe(escalations[1]!.body.split("\n")[0]);
  }, 60_000);
});

// The GraphQL mutation that takes the PR out of draft (the agents' pushes are GraphQL too).
function isMarkReady(request: { path: string; body?: unknown }): boolean {
  return request.path === "/graphql" && JSON.stringify(request.body).includes("markPullRequestReadyForReview");
}
