import { beforeAll, describe, expect, it } from "vitest";
import { runAnswerCommand, runAuthorizeActor } from "../../../src/engine/effects/command-effects.js";
import type { EffectInput, JobLink } from "../../../src/engine/effects/effect-outcome.js";
import { buildJobLogUrl } from "../../../src/engine/links.js";
import { buildOctokitClass, type GitHubClient } from "../../../src/github/octokit.js";
import { DEFAULT_TASK_CONFIG } from "../../../src/workflow/defaults.js";
import type { AuthorizedAction } from "../../../src/workflow/events.js";
import { emptyPipeline, type Task } from "../../../src/workflow/task.js";
import { REPO, REPO_PATH, mockGitHub } from "../../helpers/github-mock.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";

const TASK_ID = "00000000-0000-4000-8000-000000000001";
const PUBLIC_URL = "https://foreman.example.com";
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let octokit: GitHubClient;

beforeAll(() => {
  const Octokit = buildOctokitClass({ retries: 0, retryAfterBaseValue: 1, throttle: false });
  octokit = new Octokit({ auth: { token: "ghs_test" }, log: silent });
});

/** A task a few steps in: planner done, coder pushed, CI failed once, ci_fixer running. */
function buildTask(overrides: Partial<Task> = {}): Task {
  return {
    id: TASK_ID,
    repo: {
      installationId: INSTALLATION_ID,
      id: REPO.id,
      owner: REPO.owner,
      name: REPO.name,
      defaultBranch: REPO.defaultBranch,
    },
    issueNumber: 5,
    issueTitle: "Fix the login redirect",
    issueSnapshot: null,
    type: "bugfix",
    triggerLabel: "agent:bugfix",
    triggeredBy: "alice",
    triggerVerdict: "authorized",
    state: "running",
    resumeState: null,
    frozenBy: null,
    frozenOn: null,
    config: { ...DEFAULT_TASK_CONFIG },
    branch: "agent/5-fix-the-login-redirect",
    baseSha: "b".repeat(40),
    headSha: "c".repeat(40),
    prNumber: 9,
    prUrl: `https://github.com/${REPO.owner}/${REPO.name}/pull/9`,
    step: "ci_fixer",
    jobId: "00000000-0000-4000-8000-0000000000a3",
    usage: { agentMs: 120_000, tokens: 5000, costUsd: 0.5 },
    priority: 0,
    pipeline: {
      ...emptyPipeline(),
      roles: ["planner", "coder", "reviewer"],
      index: 1,
      purpose: "ci_fix",
      plan: "1. Read `redirect.ts`.\n2. Keep the `next` parameter.",
      ciAttempts: 1,
      ci: { sha: "c".repeat(40), conclusion: "failure", suiteId: 300 },
      steps: [
        {
          role: "planner",
          purpose: "pipeline",
          status: "succeeded",
          jobId: "00000000-0000-4000-8000-0000000000a1",
          commitSha: null,
          summary: "Planned a\nsmall fix.",
        },
        {
          role: "coder",
          purpose: "pipeline",
          status: "succeeded",
          jobId: "00000000-0000-4000-8000-0000000000a2",
          commitSha: "c".repeat(40),
          summary: "Kept `next` on redirect.",
        },
        {
          role: "ci_fixer",
          purpose: "ci_fix",
          status: "running",
          jobId: "00000000-0000-4000-8000-0000000000a3",
          commitSha: null,
          summary: null,
        },
      ],
    },
    reason: null,
    createdAt: "2026-01-01T10:00:00.000Z",
    updatedAt: "2026-01-01T11:00:00.000Z",
    ...overrides,
  };
}

function buildInput<P>(
  payload: P,
  options: { task?: Task; attempt?: number; publicUrl?: string | null; jobs?: JobLink[] } = {},
): EffectInput<P> {
  return {
    payload,
    task: options.task ?? buildTask(),
    octokit,
    attempt: options.attempt ?? 1,
    statusCommentId: null,
    webBaseUrl: "https://github.com",
    checkRun: null,
    publicUrl: options.publicUrl === undefined ? null : options.publicUrl,
    facts: { jobs: options.jobs ?? [], queuePosition: null, latestRecordHash: null },
  };
}

const command: AuthorizedAction = { kind: "command", command: "retry", commentId: 700 };

describe("runAuthorizeActor", () => {
  // The executor only reads the role; what a role may do is src/workflow/permissions.ts (test/unit/workflow/permissions.test.ts).
  it.each([
    ["admin", "admin"],
    ["maintain", "write"],
    ["triage", "read"],
  ])(
    "reports the role GitHub gives (%s) with its legacy permission (%s), and decides nothing",
    async (role, permission) => {
      const github = mockGitHub().permission("bob", role);
      const outcome = await runAuthorizeActor(buildInput({ login: "bob", action: command }));
      expect(outcome).toEqual({
        event: { type: "actor_checked", taskId: TASK_ID, login: "bob", role: { role, permission }, action: command },
        evidence: { login: "bob", role, permission, action: "command" },
      });
      expect(github.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        `GET ${REPO_PATH}/collaborators/bob/permission`,
      ]);
    },
  );

  it("reports a custom role by name, with its base permission", async () => {
    const github = mockGitHub();
    github.scope
      .get(`${REPO_PATH}/collaborators/carol/permission`)
      .reply(200, { permission: "write", role_name: "release-manager", user: { login: "carol" } });
    const review: AuthorizedAction = { kind: "review", reviewId: 1, body: "Please change it." };
    expect((await runAuthorizeActor(buildInput({ login: "carol", action: review }))).evidence).toEqual({
      login: "carol",
      role: "release-manager",
      permission: "write",
      action: "review",
    });
    expect(github.requests).toHaveLength(1);
  });

  it("reports someone who is not a collaborator as role none", async () => {
    const github = mockGitHub();
    github.scope.get(`${REPO_PATH}/collaborators/mallory/permission`).reply(404, { message: "Not Found" });
    const outcome = await runAuthorizeActor(buildInput({ login: "mallory", action: command }));
    expect(outcome.event).toMatchObject({ type: "actor_checked", role: { role: "none", permission: "none" } });
    expect(github.requests).toHaveLength(1);
  });
});

describe("runAnswerCommand: refusal", () => {
  const refusal = { issueNumber: 9, answer: "refusal" as const, login: "eve", command: "retry" };

  it("posts one polite refusal per user and task", async () => {
    const github = mockGitHub();
    github.scope
      .get(`${REPO_PATH}/issues/9/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 1, body: "LGTM" }]);
    github.scope.post(`${REPO_PATH}/issues/9/comments`).reply(201, { id: 9101 });
    const first = await runAnswerCommand(buildInput(refusal));
    expect(first.evidence).toEqual({ issueNumber: 9, answer: "refusal", commentId: 9101, created: true });
    expect(github.writes()).toHaveLength(1);
    const body = (github.writes()[0]?.body as { body: string }).body;
    expect(body).toMatchInlineSnapshot(`
      "<!-- foreman:refusal:00000000-0000-4000-8000-000000000001:eve -->
      @eve, sorry: only people with write access to this repository can run \`/foreman retry\`, so Foreman did not act on it.

      If this task should stop for now, someone with triage access can add the \`needs-human-review\` label, which freezes it until the label is removed. Otherwise, please ask a maintainer to run the command for you.

      <sub>Foreman says this once per person and task; it ignores further commands from you on this task.</sub>"
    `);

    // The same user asks again (another command, another effect): the marker is found, nothing is posted.
    github.scope
      .get(`${REPO_PATH}/issues/9/comments`)
      .query({ per_page: "100" })
      .reply(200, [
        { id: 1, body: "LGTM" },
        { id: 9101, body },
      ]);
    const second = await runAnswerCommand(buildInput({ ...refusal, command: "stop" }));
    expect(second.evidence).toEqual({ issueNumber: 9, answer: "refusal", commentId: 9101, created: false });
    expect(github.writes()).toHaveLength(1);
  });

  it("a refused retry after the issue's task ended is refused once per person on the issue, without freeze advice", async () => {
    const github = mockGitHub();
    github.scope.get(`${REPO_PATH}/issues/9/comments`).query({ per_page: "100" }).reply(200, []);
    github.scope.post(`${REPO_PATH}/issues/9/comments`).reply(201, { id: 9103 });
    await runAnswerCommand(buildInput({ ...refusal, refusalScope: "issue" as const }));
    const body = (github.writes()[0]?.body as { body: string }).body;
    expect(body).toMatch(/^<!-- foreman:refusal:issue:\d+:\d+:eve -->\n@eve, sorry: only people with write access/);
    expect(body).toContain("once per person on this issue");
    expect(body).not.toContain("needs-human-review");
  });

  it("refuses another user separately", async () => {
    const github = mockGitHub();
    const earlier = `<!-- foreman:refusal:${TASK_ID}:eve -->\nsorry`;
    github.scope
      .get(`${REPO_PATH}/issues/9/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 9101, body: earlier }]);
    github.scope.post(`${REPO_PATH}/issues/9/comments`).reply(201, { id: 9102 });
    const outcome = await runAnswerCommand(buildInput({ ...refusal, login: "oscar" }));
    expect(outcome.evidence).toMatchObject({ commentId: 9102, created: true });
    expect((github.writes()[0]?.body as { body: string }).body).toMatch(
      new RegExp(`^<!-- foreman:refusal:${TASK_ID}:oscar -->\\n@oscar, `),
    );
  });
});

describe("runAnswerCommand: status", () => {
  const status = { issueNumber: 5, answer: "status" as const, login: "bob", command: "status" };

  it("posts the task's state, step, CI attempts and PR, addressed to the asker", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, { id: 9201 });
    const outcome = await runAnswerCommand(buildInput(status));
    expect(outcome.evidence).toEqual({ issueNumber: 5, answer: "status", commentId: 9201, created: true });
    expect(github.writes().map((write) => `${write.method} ${write.path}`)).toEqual([
      `POST ${REPO_PATH}/issues/5/comments`,
    ]);
    expect((github.writes()[0]?.body as { body: string }).body).toMatchInlineSnapshot(`
      "<!-- foreman:answer:00000000-0000-4000-8000-000000000001:status:bob:85f048cd9f0c -->
      @bob, here is where this task stands.

      - **State:** an agent is working (\`running\`)
      - **Current step:** \`ci_fixer\` (fixing failing CI)
      - **Pipeline:** \`planner\` → \`coder\` → \`reviewer\`
      - **CI fix attempts:** 1 of 3 used
      - **Latest CI:** failure on ccccccc
      - **Pull request:** #9"
    `);
  });

  it("says why a task stopped, and who froze one", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/5/comments`).times(2).reply(201, { id: 9202 });
    const failed = buildTask({
      state: "escalated",
      step: null,
      reason: { code: "CI_FAILED_TOO_OFTEN", message: "CI is still red after 3 attempts." },
    });
    await runAnswerCommand(buildInput(status, { task: failed }));
    const frozen = buildTask({ state: "frozen", resumeState: "running", frozenBy: "carol", frozenOn: "pull_request" });
    await runAnswerCommand(buildInput(status, { task: frozen }));
    const [first, second] = github.writes().map((write) => (write.body as { body: string }).body);
    expect(first).toContain(
      "- **State:** handed to a human: CI stayed red after Foreman's attempts (`/foreman retry` tries again) (`escalated`)",
    );
    expect(first).toContain("- **Current step:** none right now");
    expect(first).toMatch(/\n\n\*\*Why:\*\* CI is still red after 3 attempts\.$/);
    expect(second).toContain(
      "- **State:** frozen by carol on the pull request; it resumes in `running` when the label is removed (`frozen`)",
    );
  });

  it("does not post twice when the effect is retried", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, { id: 9203 });
    await runAnswerCommand(buildInput(status));
    const posted = (github.writes()[0]?.body as { body: string }).body;
    github.scope
      .get(`${REPO_PATH}/issues/5/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 9203, body: posted }]);
    const retried = await runAnswerCommand(buildInput(status, { attempt: 2 }));
    expect(retried.evidence).toEqual({ issueNumber: 5, answer: "status", commentId: 9203, created: false });
    expect(github.writes()).toHaveLength(1);
  });

  it("answers a later status command again, with its own marker", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, { id: 9204 });
    await runAnswerCommand(buildInput(status));
    const earlier = (github.writes()[0]?.body as { body: string }).body;
    // The later command's effect is retried: it looks for its own marker, not the earlier answer's.
    github.scope
      .get(`${REPO_PATH}/issues/5/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 9204, body: earlier }]);
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, { id: 9205 });
    const later = await runAnswerCommand(
      buildInput(status, { task: buildTask({ updatedAt: "2026-01-01T12:00:00.000Z" }), attempt: 2 }),
    );
    expect(later.evidence).toMatchObject({ commentId: 9205, created: true });
    const markers = github.writes().map((write) => (write.body as { body: string }).body.split("\n")[0]);
    expect(markers[0]).toMatch(new RegExp(`^<!-- foreman:answer:${TASK_ID}:status:bob:[0-9a-f]{12} -->$`));
    expect(markers[1]).not.toBe(markers[0]);
  });

  it("keys the answer by the command's comment when the payload names it", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, { id: 9206 });
    await runAnswerCommand(buildInput({ ...status, commentId: 700 }));
    expect((github.writes()[0]?.body as { body: string }).body.split("\n")[0]).toBe(
      `<!-- foreman:answer:${TASK_ID}:status:bob:c700 -->`,
    );
  });
});

describe("runAnswerCommand: explain", () => {
  const explain = { issueNumber: 9, answer: "explain" as const, login: "bob", command: "explain" };

  /** The task's jobs as the effect runner reads them (load-effect-facts.test.ts reads them from a database). */
  const jobs = (publicUrl: string | null): JobLink[] =>
    [
      ["00000000-0000-4000-8000-0000000000a1", "planner", "succeeded", "tok-planner"],
      ["00000000-0000-4000-8000-0000000000a2", "coder", "succeeded", "tok-coder"],
      ["00000000-0000-4000-8000-0000000000a3", "ci_fixer", "running", "tok-fixer"],
    ].map(([id, role, status, token]) => ({
      id: id!,
      role: role!,
      status: status!,
      logUrl: publicUrl === null ? null : buildJobLogUrl(publicUrl, id!, token!),
    }));

  it("explains the trigger, each step, the plan, CI and links to every job's log and the evidence", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/9/comments`).reply(201, { id: 9301 });
    const outcome = await runAnswerCommand(buildInput(explain, { publicUrl: PUBLIC_URL, jobs: jobs(PUBLIC_URL) }));
    expect(outcome.evidence).toEqual({ issueNumber: 9, answer: "explain", commentId: 9301, created: true });
    const body = (github.writes()[0]?.body as { body: string }).body;
    expect(body).toMatchInlineSnapshot(`
      "<!-- foreman:answer:00000000-0000-4000-8000-000000000001:explain:bob:55be4fc806ab -->
      @bob, here is what Foreman did on this task and why.

      **Trigger:** alice added \`agent:bugfix\` to #5 (task \`00000000-0000-4000-8000-000000000001\`, a bugfix task).

      - **State:** an agent is working (\`running\`)
      - **Current step:** \`ci_fixer\` (fixing failing CI)
      - **Pipeline:** \`planner\` → \`coder\` → \`reviewer\`
      - **CI fix attempts:** 1 of 3 used
      - **Latest CI:** failure on ccccccc
      - **Pull request:** #9

      **Steps**

      1. \`planner\` (pipeline step), succeeded, no commit: Planned a small fix.
      2. \`coder\` (pipeline step), succeeded, pushed [ccccccc](https://github.com/Codertocat/Hello-World/commit/cccccccccccccccccccccccccccccccccccccccc): Kept \`next\` on redirect.
      3. \`ci_fixer\` (fixing failing CI), running, no commit

      <details><summary>The plan</summary>

      1. Read \`redirect.ts\`.
      2. Keep the \`next\` parameter.

      </details>

      **Links**

      - Pull request: #9
      - [Log of the \`planner\` job](https://foreman.example.com/jobs/00000000-0000-4000-8000-0000000000a1/log?token=tok-planner) (succeeded)
      - [Log of the \`coder\` job](https://foreman.example.com/jobs/00000000-0000-4000-8000-0000000000a2/log?token=tok-coder) (succeeded)
      - [Log of the \`ci_fixer\` job](https://foreman.example.com/jobs/00000000-0000-4000-8000-0000000000a3/log?token=tok-fixer) (running)
      - Evidence record (needs an auditor API token): https://foreman.example.com/api/compliance/tasks/00000000-0000-4000-8000-000000000001"
    `);
  });

  it("leaves out log and evidence links when Foreman has no public URL", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/9/comments`).reply(201, { id: 9302 });
    const fresh = buildTask({ state: "queued", step: null, prNumber: null, prUrl: null, pipeline: emptyPipeline() });
    await runAnswerCommand(buildInput(explain, { task: fresh, jobs: jobs(null) }));
    const body = (github.writes()[0]?.body as { body: string }).body;
    expect(body).toContain("No agent step has run yet.");
    expect(body).toMatch(/\*\*Links\*\*\n\n- Pull request: none yet$/);
    expect(body).not.toContain("tok-");
    expect(body).not.toContain("<details>");
  });
});

describe("runAnswerCommand: note", () => {
  it("posts the workflow's text as is", async () => {
    const github = mockGitHub();
    github.scope.post(`${REPO_PATH}/issues/9/comments`).reply(201, { id: 9401 });
    const note = {
      issueNumber: 9,
      answer: "note" as const,
      login: "bob",
      command: "retry",
      text: "@bob, retrying the `ci_fixer` step.",
    };
    const outcome = await runAnswerCommand(buildInput(note));
    expect(outcome.evidence).toEqual({ issueNumber: 9, answer: "note", commentId: 9401, created: true });
    expect(github.writes()[0]?.body).toEqual({
      body: expect.stringMatching(
        new RegExp(
          `^<!-- foreman:answer:${TASK_ID}:retry:bob:[0-9a-f]{12} -->\\n@bob, retrying the \`ci_fixer\` step\\.$`,
        ),
      ),
    });
  });
});
