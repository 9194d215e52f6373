import { describe, expect, test } from "vitest";
import { REPO, REPO_PATH } from "../../helpers/github-mock.js";
import {
  actionWrites,
  buildLoopConfig,
  commentAsUser,
  DRAFT_PR_WRITES,
  labelIssue,
  lastStatusComment,
  listRunningContainers,
  LOOP_BRANCH,
  LOOP_PR,
  mockLoopGitHub,
  mockRedraws,
  PUSH_WRITES,
  useLoopForeman,
  waitForRunningStep,
  writeBodies,
  writesSince,
  type LoopGitHub,
} from "../../helpers/loop-harness.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// `/foreman status|explain|stop|retry` on the issue, by someone with write access and by someone
// with read access, against the real loop: a real container runs the step the command talks about.

/** A reviewer that is still working when the commands arrive. */
const SLEEPING_REVIEWER = "sleep 60";
const PR_URL = `https://github.com/${REPO.owner}/${REPO.name}/pull/${LOOP_PR}`;

const loop = useLoopForeman({ idPrefix: "c0000000", server: true });
const TASK = loop.id(1);

/**
 * The issue's thread as GitHub keeps it: once Foreman has posted more than its status comment, the
 * thread lists what it posted (declared before `mockRedraws`' empty thread, which answers until then).
 */
function mockLiveThread(github: LoopGitHub): void {
  const posted = () =>
    github.writes().filter((request) => request.method === "POST" && request.path === `${REPO_PATH}/issues/1/comments`);
  github.display
    .get(`${REPO_PATH}/issues/1/comments`)
    .query((query) => query.per_page === "100" && posted().length > 1)
    .reply(200, () =>
      posted().map((request, index) => ({
        id: 9001 + index,
        body: (request.body as { body: string }).body,
        user: { login: "foreman-test[bot]", type: "Bot" },
        created_at: "2026-11-21T00:00:00Z",
      })),
    );
}

/** `/foreman <command>` on the issue by `sender`, and the worker idle again. */
async function commandOnIssue(sender: string, command: string, commentId: number): Promise<void> {
  await commentAsUser(loop.foreman, { body: `/foreman ${command}`, sender, commentId, onPullRequest: false });
  await loop.foreman.worker.whenIdle();
}

/** The comments Foreman posted on the issue other than its status comment. */
function answers(github: LoopGitHub): string[] {
  return writeBodies<{ body: string }>(github, "POST", "/issues/1/comments")
    .map((body) => body.body)
    .filter((body) => !body.startsWith("<!-- foreman:status -->"));
}

/**
 * A one-coder pipeline whose coder finds the README already right the first time (it changes
 * nothing, so the task fails) and has work on a retry. Each task reads the config, the base and
 * makes a plan commit; the first creates the branch and the PR, a retry finds both there (422).
 */
function mockFailingTask(github: LoopGitHub, tasks: number) {
  const { scope } = github;
  const config = buildLoopConfig({ pipeline: ["coder"] });
  github.permission("Codertocat", "write");
  scope
    .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/foreman.yml")}`)
    .query({ ref: REPO.defaultBranch })
    .times(tasks)
    .reply(200, {
      type: "file",
      encoding: "base64",
      content: Buffer.from(config).toString("base64"),
      path: ".github/foreman.yml",
      name: "foreman.yml",
      sha: "cfg",
    });
  mockRedraws(github);
  return {
    /** The branch and PR writes of `starts` tasks that get that far. */
    starts(starts: number) {
      scope
        .get(`${REPO_PATH}/branches/${REPO.defaultBranch}`)
        .times(starts)
        .reply(200, {
          name: REPO.defaultBranch,
          commit: { sha: "base-sha", commit: { tree: { sha: "base-tree-sha" } } },
        });
      scope
        .post(`${REPO_PATH}/git/commits`, (body: { message?: string }) => body.message?.startsWith("Plan: ") === true)
        .times(starts)
        .reply(201, { sha: "plan-sha" });
      const refAnswers: Array<[number, Record<string, unknown>]> = [
        [201, { ref: `refs/heads/${LOOP_BRANCH}`, object: { sha: "plan-sha" } }],
      ];
      const pullAnswers: Array<[number, Record<string, unknown>]> = [[201, { number: LOOP_PR, html_url: PR_URL }]];
      for (let again = 1; again < starts; again += 1) {
        refAnswers.push([422, { message: "Reference already exists" }]);
        pullAnswers.push([422, { message: `A pull request already exists for Codertocat:${LOOP_BRANCH}.` }]);
      }
      scope
        .post(`${REPO_PATH}/git/refs`)
        .times(starts)
        .reply(() => refAnswers.shift()!);
      scope
        .post(`${REPO_PATH}/pulls`)
        .times(starts)
        .reply(() => pullAnswers.shift()!);
      scope.post(`${REPO_PATH}/issues/${LOOP_PR}/labels`).times(starts).reply(200, []);
      github.createComment(1);
      return this;
    },
  };
}

describe("/foreman commands in the loop", () => {
  test("status and explain by a writer: one answer each on the issue, with the state, the steps, the job logs and the evidence link", async () => {
    const github = mockLoopGitHub(
      buildLoopConfig({ pipeline: ["planner", "reviewer"], reviewer: SLEEPING_REVIEWER }),
    ).draftPr();
    await github.stepReads("plan-sha", { times: 2 }); // planner and reviewer
    github.diff("plan-sha");
    github.permission("octocat", "write", 2);
    github.issueComments("<!-- foreman:answer:", 2);

    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");
    const before = github.writes().length;

    await commandOnIssue("octocat", "status", 5001);
    await commandOnIssue("octocat", "explain", 5002);

    // Exactly two new writes: the two answers (the task itself did not move).
    expect(writesSince(github, before)).toEqual(["POST /issues/1/comments", "POST /issues/1/comments"]);
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, "POST /issues/1/comments", "POST /issues/1/comments"]);
    // Nothing is pushed past the empty plan commit yet, so there is no check run to draw.
    expect(github.writes().filter((request) => request.path.includes("/check-runs"))).toEqual([]);
    const [status, explain] = answers(github);
    expect(loop.stable(status!)).toMatchInlineSnapshot(`
      "<!-- foreman:answer:c0000000-0000-4000-8000-000000000001:status:octocat:c5001 -->
      @octocat, here is where this task stands.

      - **State:** an agent is working (\`running\`)
      - **Current step:** \`reviewer\` (pipeline step, step 2 of 2)
      - **Pipeline:** \`planner\` → \`reviewer\`
      - **CI fix attempts:** 0 of 3 used
      - **Pull request:** #7"
    `);

    const jobs = (await loop.database
      .sql`select id, role, log_token from agent_jobs order by created_at, id`) as unknown as Array<{
      id: string;
      role: string;
      log_token: string;
    }>;
    expect(jobs.map((job) => job.role)).toEqual(["planner", "reviewer"]);
    for (const job of jobs) {
      expect(explain).toContain(`(https://foreman.example.test/jobs/${job.id}/log?token=${job.log_token})`);
    }
    // The planner's link serves its log (the script printed nothing), a guessed token nothing.
    await loop.foreman.server.start();
    expect(
      (await fetch(`http://127.0.0.1:${loop.foreman.server.port}/jobs/${jobs[0]!.id}/log?token=${jobs[0]!.log_token}`))
        .status,
    ).toBe(200);
    expect(
      (await fetch(`http://127.0.0.1:${loop.foreman.server.port}/jobs/${jobs[0]!.id}/log?token=guess`)).status,
    ).toBe(404);
    await loop.foreman.server.stop();
    const normalized = jobs.reduce(
      (text, job, index) =>
        text.replaceAll(job.id, `<job-${index + 1}>`).replaceAll(job.log_token, `<token-${index + 1}>`),
      explain!,
    );
    expect(loop.stable(normalized)).toMatchInlineSnapshot(`
      "<!-- foreman:answer:c0000000-0000-4000-8000-000000000001:explain:octocat:c5002 -->
      @octocat, here is what Foreman did on this task and why.

      **Trigger:** Codertocat added \`agent:ready\` to #1 (task \`c0000000-0000-4000-8000-000000000001\`, a ready task).

      - **State:** an agent is working (\`running\`)
      - **Current step:** \`reviewer\` (pipeline step, step 2 of 2)
      - **Pipeline:** \`planner\` → \`reviewer\`
      - **CI fix attempts:** 0 of 3 used
      - **Pull request:** #7

      **Steps**

      1. \`planner\` (pipeline step), succeeded, no commit: Planned the fix.
      2. \`reviewer\` (pipeline step), running, no commit

      <details><summary>The plan</summary>

      1. Fix the spelling of 'the' in README.md.
      2. Nothing else.

      </details>

      **Links**

      - Pull request: #7
      - [Log of the \`planner\` job](https://foreman.example.test/jobs/<job-1>/log?token=<token-1>) (succeeded)
      - [Log of the \`reviewer\` job](https://foreman.example.test/jobs/<job-2>/log?token=<token-2>) (running)
      - Evidence record (needs an auditor API token): https://foreman.example.test/api/compliance/tasks/c0000000-0000-4000-8000-000000000001"
    `);
    expect(await loop.database.sql`select state from tasks`).toMatchObject([{ state: "running" }]);
    // Both commands are on the record, with the sender's permission.
    const records = await loop.database
      .sql`select kind, actor, payload from compliance_records where kind in ('command.received', 'effect.authorize_actor', 'effect.answer_command') order by seq`;
    expect(records.map((record) => `${record.kind}:${record.actor}`)).toEqual([
      "command.received:octocat",
      "effect.authorize_actor:foreman[app]",
      "effect.answer_command:foreman[app]",
      "command.received:octocat",
      "effect.authorize_actor:foreman[app]",
      "effect.answer_command:foreman[app]",
    ]);
    expect(records[1]!.payload).toMatchObject({ login: "octocat", role: "write", permission: "write" });
  }, 60_000);

  test("a reader's commands are refused once, politely; the running step goes on until a writer stops it", async () => {
    const github = mockLoopGitHub(buildLoopConfig({ pipeline: ["reviewer"], reviewer: SLEEPING_REVIEWER }));
    mockLiveThread(github);
    github.draftPr();
    await github.stepReads("plan-sha");
    github.diff("plan-sha");
    github.permission("mallory", "read", 3);
    github.permission("lead", "write");
    github.issueComments("<!-- foreman:refusal:");

    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");
    const before = github.writes().length;

    await commandOnIssue("mallory", "stop", 6001);
    await commandOnIssue("mallory", "retry", 6002);
    await commandOnIssue("mallory", "status", 6003);

    // One refusal, whatever mallory asks afterwards: each later refusal finds the first by its marker.
    expect(writesSince(github, before)).toEqual(["POST /issues/1/comments"]);
    expect(answers(github)).toEqual([
      [
        `<!-- foreman:refusal:${TASK}:mallory -->`,
        "@mallory, sorry: only people with write access to this repository can run `/foreman stop`, so Foreman did not act on it.",
        "",
        "If this task should stop for now, someone with triage access can add the `needs-human-review` label, which freezes it until the label is removed. Otherwise, please ask a maintainer to run the command for you.",
        "",
        "<sub>Foreman says this once per person and task; it ignores further commands from you on this task.</sub>",
      ].join("\n"),
    ]);
    expect(
      github.reads().filter((request) => request.path === `${REPO_PATH}/issues/1/comments?per_page=100`).length,
    ).toBeGreaterThanOrEqual(3);
    // Nothing was stopped.
    expect(await listRunningContainers(loop.foreman, TASK)).toHaveLength(1);
    expect(await loop.database.sql`select state from tasks`).toMatchObject([{ state: "running" }]);
    const authorized = await loop.database
      .sql`select payload from compliance_records where kind = 'effect.authorize_actor' order by seq`;
    expect(authorized.map((record) => record.payload)).toEqual(
      [0, 1, 2].map(() => expect.objectContaining({ login: "mallory", role: "read", permission: "read" })),
    );

    // A writer's stop does what mallory's could not.
    await commentAsUser(loop.foreman, { body: "/foreman stop", sender: "lead", commentId: 6004, onPullRequest: false });
    await expect
      .poll(async () => (await listRunningContainers(loop.foreman, TASK)).length, { timeout: 10_000, interval: 100 })
      .toBe(0);
    await loop.foreman.settle();
    expect(await loop.database.sql`select state from tasks`).toMatchObject([{ state: "cancelled" }]);
    expect(answers(github)).toHaveLength(1);
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, "POST /issues/1/comments"]);
  }, 60_000);

  test("stop by a writer: the container is gone, the check run completes neutral, and the status comment says who stopped it", async () => {
    const github = mockLoopGitHub(
      buildLoopConfig({ pipeline: ["coder", "reviewer"], reviewer: SLEEPING_REVIEWER }),
    ).draftPr();
    await github.stepReads("plan-sha");
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha");
    github.diff("code-sha");
    github.permission("lead", "write");

    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");

    await commentAsUser(loop.foreman, { body: "/foreman stop", sender: "lead", commentId: 7001, onPullRequest: false });
    await expect
      .poll(async () => (await listRunningContainers(loop.foreman, TASK)).length, { timeout: 10_000, interval: 100 })
      .toBe(0);
    await loop.foreman.settle();

    expect(await loop.database.sql`select state, reason from tasks`).toMatchObject([
      { state: "cancelled", reason: { code: "STOPPED_BY_COMMAND" } },
    ]);
    expect(
      (await loop.database.sql`select role, status, failure_code from agent_jobs order by created_at`).map(
        (job) => `${job.role}:${job.status}:${job.failure_code ?? ""}`,
      ),
    ).toEqual(["coder:succeeded:", "reviewer:cancelled:AGENT_STOPPED"]);
    // No answer comment: the status comment is the answer.
    expect(answers(github)).toEqual([]);
    expect(lastStatusComment(github)).toContain("### ⏹️ Foreman: stopped");
    expect(lastStatusComment(github)).toContain(
      "> **Why:** @lead stopped Foreman with `/foreman stop`. The branch and any PR are left for you.",
    );
    const checkRuns = github.writes().filter((request) => request.path.includes("/check-runs"));
    expect(checkRuns.at(-1)!.body).toMatchObject({
      status: "completed",
      conclusion: "neutral",
      output: { title: "Stopped" },
    });
    // The draft PR and the coder's push; no review.
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, ...PUSH_WRITES]);
  }, 60_000);

  test("retry by a writer after the task failed: a fresh task on the same branch and PR (the existing ref and PR are adopted)", async () => {
    const github = mockLoopGitHub("");
    mockFailingTask(github, 2).starts(2);
    // Read twice: the ended task confirms the retry, then the new task's trigger check reads it again.
    github.permission("lead", "write", 2);
    await github.stepReadsInTurn("plan-sha", [{ "README.md": "The README.\n" }, { "README.md": "Teh README.\n" }]);
    // The retry adopts the branch (reading its head) and the PR (the branch's open PR), then pushes on that head.
    github.scope
      .get(`${REPO_PATH}/pulls`)
      .query({ head: `Codertocat:${LOOP_BRANCH}`, state: "open", per_page: "1" })
      .reply(200, [{ number: LOOP_PR, html_url: PR_URL }]);
    github.push("plan-sha", "code-sha", { refReads: 2 });

    await labelIssue(loop.foreman);
    await loop.foreman.settle();
    expect(await loop.database.sql`select state, reason from tasks`).toMatchObject([
      { state: "failed", reason: { code: "AGENT_NO_CHANGES" } },
    ]);
    expect(actionWrites(github)).toEqual(DRAFT_PR_WRITES);
    const failedWrites = actionWrites(github).length;

    await commentAsUser(loop.foreman, {
      body: "/foreman retry",
      sender: "lead",
      commentId: 8001,
      onPullRequest: false,
    });
    await loop.foreman.settle();

    const tasks = await loop.database
      .sql`select id, state, triggered_by, trigger_label, branch, pr_number, head_sha, base_sha from tasks order by created_at`;
    expect(tasks).toMatchObject([
      { id: TASK, state: "failed" },
      {
        state: "awaiting_ci",
        triggered_by: "lead",
        trigger_label: "agent:ready",
        branch: LOOP_BRANCH,
        pr_number: LOOP_PR,
        head_sha: "code-sha",
        base_sha: "base-sha",
      },
    ]);
    const retryTask = String(tasks[1]!.id);
    // The retry made a plan commit nobody references, adopted the branch and the PR, and pushed on the branch's head.
    expect(actionWrites(github).slice(failedWrites)).toEqual([
      "POST /git/commits",
      "POST /git/refs",
      "POST /pulls",
      `POST /issues/${LOOP_PR}/labels`,
      ...PUSH_WRITES,
    ]);
    const push = github
      .writes()
      .filter((request) => request.path === "/graphql")
      .at(-1)!;
    expect((push.body as { variables: { input: { expectedHeadOid: string } } }).variables.input.expectedHeadOid).toBe(
      "plan-sha",
    );
    const evidence = await loop.database
      .sql`select kind, payload from compliance_records where task_id = ${retryTask} and kind in ('effect.ensure_branch', 'effect.open_draft_pr', 'effect.authorize_trigger') order by seq`;
    expect(evidence).toMatchObject([
      {
        kind: "effect.authorize_trigger",
        payload: { sender: "lead", role: "write", permission: "write", configValid: true },
      },
      {
        kind: "effect.ensure_branch",
        payload: { branch: LOOP_BRANCH, headSha: "plan-sha", baseSha: "base-sha", reused: true },
      },
      { kind: "effect.open_draft_pr", payload: { number: LOOP_PR, reused: true } },
    ]);
    // One status comment on the issue for both tasks: the retry edits it.
    expect(writeBodies(github, "POST", "/issues/1/comments")).toHaveLength(1);
    expect(lastStatusComment(github)).toContain(`\`${retryTask}\` · \`agent:ready\` by @lead`);
    expect(lastStatusComment(github)).toContain("The work is pushed to #7 (head code-sh). Waiting for CI.");
    expect(
      (await loop.database.sql`select role, status, base_sha from agent_jobs order by created_at`).map(
        (job) => `${job.role}:${job.status}:${job.base_sha}`,
      ),
    ).toEqual(["coder:succeeded:plan-sha", "coder:succeeded:plan-sha"]);
  }, 60_000);

  test("retry by a reader after the task failed: one polite refusal however often asked, and the status comment still says why it failed", async () => {
    const github = mockLoopGitHub("");
    mockLiveThread(github);
    // One task: the refused retries make none, so the config is read once.
    mockFailingTask(github, 1).starts(1);
    github.permission("mallory", "read", 2);
    await github.stepReads("plan-sha", { files: { "README.md": "The README.\n" } });
    github.issueComments("<!-- foreman:refusal:");

    await labelIssue(loop.foreman);
    await loop.foreman.settle();
    expect(await loop.database.sql`select state from tasks`).toMatchObject([{ state: "failed" }]);
    const failure = lastStatusComment(github);
    expect(failure).toContain("The coder step finished without changing anything.");
    expect(actionWrites(github)).toEqual(DRAFT_PR_WRITES);
    const before = github.writes().length;

    await commentAsUser(loop.foreman, {
      body: "/foreman retry",
      sender: "mallory",
      commentId: 8101,
      onPullRequest: false,
    });
    await loop.foreman.settle();
    await commentAsUser(loop.foreman, {
      body: "/foreman retry",
      sender: "mallory",
      commentId: 8102,
      onPullRequest: false,
    });
    await loop.foreman.settle();

    expect(writesSince(github, before)).toEqual(["POST /issues/1/comments"]);
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, "POST /issues/1/comments"]);
    expect(answers(github)).toEqual([
      [
        `<!-- foreman:refusal:issue:${REPO.id}:1:mallory -->`,
        "@mallory, sorry: only people with write access to this repository can run `/foreman retry`, so Foreman did not act on it.",
        "",
        "Please ask a maintainer to run it for you, or to add the agent label again.",
        "",
        "<sub>Foreman says this once per person on this issue; it ignores further commands from you here.</sub>",
      ].join("\n"),
    ]);
    expect(lastStatusComment(github)).toBe(failure);
    // The ended task refused the retries itself: no task row was made for them, and nothing ran.
    expect(
      await loop.database.sql`select state, reason->>'code' as code, triggered_by from tasks order by created_at`,
    ).toMatchObject([{ state: "failed", code: "AGENT_NO_CHANGES", triggered_by: "Codertocat" }]);
    expect(await loop.database.sql`select count(*)::int as n from agent_jobs`).toEqual([{ n: 1 }]);
  }, 60_000);
});
