import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { verifyChain, type ChainRecord } from "../../src/chain/chain.js";
import { FileArtifactStore } from "../../src/compliance/artifacts.js";
import { verifyDatabase } from "../../src/compliance/verify-database.js";
import { heartbeatAgentJob } from "../../src/db/queries/heartbeat-agent-job.js";
import { mockGitHub, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";
import { TEST_IMAGE } from "./agents/docker-available.js";
import { buildRepoTarball } from "./agents/repo-tarball.js";

// Real Docker (skipped without a daemon on a laptop, a failure without one in CI), real PostgreSQL,
// GitHub simulated with strict nock: the whole coder step as a user would see it.

const BRANCH = "agent/1-spelling-error-in-the-readme-file";
const REF_PATH = `${REPO_PATH}/git/ref/${encodeURIComponent(`heads/${BRANCH}`)}`;
const FIXER = [
  "echo fixing README with ghs_secrettokenvalue",
  "cd /workspace",
  "printf 'Fixed the spelling.\\n' > README.md",
  "rm old.txt",
  "mkdir -p src && printf 'export const x = 1;\\n' > src/new.js",
  `printf '{"status":"success","summary":"Fixed the README spelling and removed old.txt.","title":"Fix README spelling","model":"script-1","usage":{"inputTokens":10,"outputTokens":5}}' > /foreman/out/result.json`,
].join(" && ");

function buildConfig(script: string, timeoutSeconds = 60): string {
  return [
    // One coder step: this file is about the step itself (the whole pipeline is in loop/).
    "pipeline: [coder]",
    "agent: fixer",
    "profiles:",
    "  fixer:",
    `    image: ${TEST_IMAGE}`,
    `    command: ["sh", "-c", ${JSON.stringify(script)}]`,
    "    env: []",
    "    network: none",
    `    timeoutSeconds: ${timeoutSeconds}`,
    "    memoryMb: 256",
  ].join("\n");
}

const database = useTestDatabase();
let foreman: TestForeman;
let artifactsDir: string;

/** This file's environment: the "fixer" profile of buildConfig is the repository's own (image and command). */
function buildFileEnv(overrides: Record<string, string> = { REPO_PROFILE_OVERRIDES: "image,command" }) {
  return buildTestEnv({
    ARTIFACTS_DIR: artifactsDir,
    AGENT_IMAGE_ALLOWLIST: "foreman-test/*",
    WORKSPACE_DIR: mkdtempSync(join(tmpdir(), "foreman-ws-")),
    POLL_INTERVAL_MS: "50",
    PUBLIC_URL: "https://foreman.example.test",
    HOST: "127.0.0.1",
    PORT: "0",
    // The operator's key: a repository's own command must not get it.
    ANTHROPIC_API_KEY: "sk-ant-operator-key",
    ...overrides,
  });
}

beforeEach(async () => {
  await resetTables(database);
  artifactsDir = process.env.TEST_ARTIFACTS_DIR ?? mkdtempSync(join(tmpdir(), "foreman-artifacts-"));
  foreman = await startTestForeman(database, { env: buildFileEnv(), agents: true });
});
afterEach(async () => {
  await foreman.stop();
});

/** Label → draft PR, with the agent settings in the repo config; the status comment is then edited freely. */
function mockUpToDraftPr(config: string, options: { commentEdits?: boolean } = {}) {
  const github = mockGitHub().token();
  github
    .permission("Codertocat", "write")
    .config(config)
    .branch("base-sha", "base-tree-sha")
    .planCommit("plan-sha")
    .createRef()
    .pull(7)
    .labels(7)
    .createComment(1);
  // How many times the comment is edited depends on how fast the agent is (older updates are skipped).
  if (options.commentEdits !== false) {
    // Redraws coalesce: when a newer one is queued, an older one is skipped (even the first edit).
    github.display.patch(`${REPO_PATH}/issues/comments/9001`).optionally().reply(200, { id: 9001 });
    github.display.post(`${REPO_PATH}/check-runs`).optionally().reply(201, { id: 501 });
    github.display.patch(`${REPO_PATH}/check-runs/501`).optionally().reply(200, { id: 501 });
  }
  return github;
}

/** The status comment's latest text: its creation, or its last edit. */
function lastStatusWrite(github: ReturnType<typeof mockGitHub>) {
  return github
    .writes()
    .filter((request) => request.path.endsWith("/issues/1/comments") || request.path.endsWith("/issues/comments/9001"))
    .at(-1);
}

/** What the host reads to render the prompt and build the workspace. */
async function mockAgentReads(github: ReturnType<typeof mockGitHub>) {
  github.scope.get(`${REPO_PATH}/issues/1`).reply(200, {
    number: 1,
    title: "Spelling error in the README file",
    body: "It says teh.",
    user: { login: "Codertocat" },
    labels: [],
  });
  github.scope.get(`${REPO_PATH}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
  github.scope
    .get(`${REPO_PATH}/git/trees/plan-sha`)
    .query({ recursive: "true" })
    .reply(200, {
      sha: "base-tree-sha",
      truncated: false,
      tree: [
        { path: "README.md", type: "blob", mode: "100644", sha: "r1" },
        { path: "old.txt", type: "blob", mode: "100644", sha: "o1" },
      ],
    });
  const tarball = await buildRepoTarball({ "README.md": "Teh README.\n", "old.txt": "old\n" });
  github.scope.get(`${REPO_PATH}/tarball/plan-sha`).reply(200, tarball, { "content-type": "application/x-gzip" });
}

/** The agent's push in one write: `createCommitOnBranch` on top of the plan commit, answered with `agent-commit-sha`. */
function mockCommitOnBranch(github: ReturnType<typeof mockGitHub>) {
  github.scope.get(REF_PATH).reply(200, { ref: `refs/heads/${BRANCH}`, object: { sha: "plan-sha" } });
  github.scope
    .post(
      "/graphql",
      (body: { query?: string; variables?: { input?: { expectedHeadOid?: string } } }) =>
        body.query?.includes("createCommitOnBranch(input: $input)") === true &&
        body.variables?.input?.expectedHeadOid === "plan-sha",
    )
    .reply(200, {
      data: { createCommitOnBranch: { commit: { oid: "agent-commit-sha", tree: { oid: "agent-tree-sha" } } } },
    });
}

async function readChain(): Promise<ChainRecord[]> {
  const rows =
    await database.sql`select seq::int, task_id as "taskId", kind, actor, payload, prev_hash as "prevHash", hash, created_at as "createdAt" from compliance_records order by seq`;
  return rows.map((row) => ({
    ...row,
    createdAt: new Date(row.createdAt as string).toISOString(),
  })) as unknown as ChainRecord[];
}

describe("the coder step in a real container", () => {
  test("a script agent edits, adds and deletes files: one verified commit in one write (createCommitOnBranch), then awaiting_ci", async () => {
    const github = mockUpToDraftPr(buildConfig(FIXER));
    await mockAgentReads(github);
    mockCommitOnBranch(github);

    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const writes = github
      .writes()
      .filter((request) => !request.path.includes("/issues/") && !request.path.includes("/check-runs"));
    expect(writes.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST ${REPO_PATH}/git/commits`,
      `POST ${REPO_PATH}/git/refs`,
      `POST ${REPO_PATH}/pulls`,
      "POST /graphql",
    ]);
    // Compare-and-swap on the head the agent worked on; no author or committer: GitHub signs the app's commit.
    const [{ id: jobId }] = (await database.sql`select id from agent_jobs`) as unknown as [{ id: string }];
    expect((writes[3]!.body as { variables: unknown }).variables).toEqual({
      input: {
        branch: { repositoryNameWithOwner: `${REPO.owner}/${REPO.name}`, branchName: BRANCH },
        expectedHeadOid: "plan-sha",
        message: {
          headline: "Fix README spelling",
          body: `Fixed the README spelling and removed old.txt.\n\nForeman-Task: 00000000-0000-4000-8000-000000000001\nForeman-Job: ${jobId}`,
        },
        fileChanges: {
          additions: [
            { path: "README.md", contents: Buffer.from("Fixed the spelling.\n").toString("base64") },
            { path: "src/new.js", contents: Buffer.from("export const x = 1;\n").toString("base64") },
          ],
          deletions: [{ path: "old.txt" }],
        },
      },
    });

    const [task] = await database.sql`select state, head_sha, agent_tokens_used::int as tokens from tasks`;
    expect(task).toMatchObject({ state: "awaiting_ci", head_sha: "agent-commit-sha", tokens: 15 });
    const [job] = await database.sql`select status, pushed_sha, prompt, prompt_sha256, log, image from agent_jobs`;
    expect(job).toMatchObject({ status: "succeeded", pushed_sha: "agent-commit-sha", image: TEST_IMAGE });
    expect(job!.prompt).toContain("Spelling error in the README file");
    expect(job!.prompt_sha256).toMatch(/^[0-9a-f]{64}$/);
    // The job records which prompt template it used, for the per-template statistics.
    const [template] = await database.sql`select prompt_template, prompt_template_sha256 from agent_jobs`;
    expect(template!.prompt_template).toEqual({
      role: "coder",
      taskType: "ready",
      overrides: [],
      sha256: template!.prompt_template_sha256,
    });
    expect(template!.prompt_template_sha256).toMatch(/^[0-9a-f]{64}$/);
    const lastComment = lastStatusWrite(github);
    expect((lastComment!.body as { body: string }).body).toContain(
      "The work is pushed to #7 (head agent-c). Waiting for CI.",
    );

    // The status comment links the job's log; the link serves the redacted JSONL, a wrong token nothing.
    const link = /\[latest job\]\((https:\/\/foreman\.example\.test(\/jobs\/[^)]+))\)/.exec(
      (lastComment!.body as { body: string }).body,
    );
    expect(link?.[2]).toMatch(new RegExp(`^/jobs/${jobId}/log\\?token=[0-9a-f]{64}$`));
    await foreman.server.start();
    const served = await fetch(`http://127.0.0.1:${foreman.server.port}${link![2]}`);
    expect(served.status).toBe(200);
    const lines = (await served.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { stream: string; line: string });
    expect(lines).toContainEqual(
      expect.objectContaining({ stream: "stdout", line: "fixing README with ghs_[REDACTED]" }),
    );
    expect(JSON.stringify(lines)).not.toContain("secrettokenvalue");
    expect((await fetch(`http://127.0.0.1:${foreman.server.port}/jobs/${jobId}/log?token=guess`)).status).toBe(404);
    await foreman.server.stop();

    const chain = await readChain();
    expect(verifyChain(chain)).toMatchObject({ ok: true });
    const finished = chain.find((record) => record.kind === "agent_job.finished");
    expect(finished).toMatchObject({
      actor: "agent:fixer",
      payload: {
        status: "succeeded",
        pushedSha: "agent-commit-sha",
        model: "script-1",
        push: "pushed",
        pushPath: "commit_on_branch",
      },
    });
    expect((finished!.payload as { changes: unknown[] }).changes).toEqual(
      expect.arrayContaining([{ path: "old.txt", status: "deleted", added: 0, deleted: 1 }]),
    );
    // The prompt, the log, the diff and the result are evidence: stored by hash, named by the record.
    const refs = (finished!.payload as { artifacts: Array<{ kind: string; sha256: string }> }).artifacts;
    expect(refs.map((ref) => ref.kind)).toEqual(["agent-prompt", "agent-log", "agent-diff", "agent-result"]);
    const store = new FileArtifactStore(artifactsDir);
    const log = (await store.get(refs[1]!.sha256))!.toString("utf8");
    expect(log).toContain("ghs_[REDACTED]");
    expect(log).not.toContain("secrettokenvalue");
    expect((await store.get(refs[2]!.sha256))!.toString("utf8")).toContain("--- deleted old.txt");
    // What `foreman verify` checks: every hash of the chain and every artifact it names.
    const verdict = await verifyDatabase(database.sql, { artifacts: store, publicKeys: null });
    expect(verdict).toMatchObject({ ok: true, failure: null, artifacts: { checked: 4, storeChecked: true } });
  }, 120_000);

  test("an agent that makes a file executable: the commit goes through the Git Data API (tree, commit, ref), which keeps the mode", async () => {
    const script = [
      "cd /workspace",
      "printf '#!/bin/sh\\necho hi\\n' > run.sh && chmod 755 run.sh",
      `printf '{"status":"success","summary":"Added a script.","title":"Add run.sh"}' > /foreman/out/result.json`,
    ].join(" && ");
    const github = mockUpToDraftPr(buildConfig(script));
    await mockAgentReads(github);
    github.scope.get(REF_PATH).reply(200, { ref: `refs/heads/${BRANCH}`, object: { sha: "plan-sha" } });
    github.scope
      .get(`${REPO_PATH}/git/commits/plan-sha`)
      .reply(200, { sha: "plan-sha", tree: { sha: "base-tree-sha" }, parents: [{ sha: "base-sha" }] });
    github.scope
      .post(`${REPO_PATH}/git/trees`, {
        base_tree: "base-tree-sha",
        tree: [{ path: "run.sh", mode: "100755", type: "blob", content: "#!/bin/sh\necho hi\n" }],
      })
      .reply(201, { sha: "agent-tree-sha" });
    github.scope
      .post(`${REPO_PATH}/git/commits`, (body: { parents?: string[] }) => body.parents?.[0] === "plan-sha")
      .reply(201, { sha: "agent-commit-sha" });
    github.scope
      .patch(`${REPO_PATH}/git/refs/${encodeURIComponent(`heads/${BRANCH}`)}`, {
        sha: "agent-commit-sha",
        force: false,
      })
      .reply(200, { object: { sha: "agent-commit-sha" } });

    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const [task] = await database.sql`select state, head_sha from tasks`;
    expect(task).toMatchObject({ state: "awaiting_ci", head_sha: "agent-commit-sha" });
    expect(github.writes().some((request) => request.path === "/graphql")).toBe(false);
    const finished = (await readChain()).find((record) => record.kind === "agent_job.finished");
    expect(finished).toMatchObject({
      payload: { push: "pushed", pushPath: "git_data", pushedSha: "agent-commit-sha" },
    });
  }, 120_000);

  test("a result.json and a log with U+0000 and a lone surrogate: the job is recorded as finished with its commit, the text with U+FFFD", async () => {
    const script = [
      String.raw`printf 'binary \000 output\n'`,
      "cd /workspace",
      "printf 'Fixed the spelling.\\n' > README.md",
      String.raw`printf '%s' '{"status":"success","summary":"Fixed the README \u0000 spelling.","title":"Fix README spelling","body":"lone \ud800 surrogate"}' > /foreman/out/result.json`,
    ].join(" && ");
    const github = mockUpToDraftPr(buildConfig(script));
    await mockAgentReads(github);
    mockCommitOnBranch(github);

    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const [job] = await database.sql`select status, pushed_sha, result, log from agent_jobs`;
    expect(job).toMatchObject({
      status: "succeeded",
      pushed_sha: "agent-commit-sha",
      result: { summary: "Fixed the README \uFFFD spelling.", body: "lone \uFFFD surrogate" },
    });
    // The log is JSON lines: the NUL byte is kept there as an escape, which a text column takes.
    const lines = (job!.log as string)
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { line: string });
    expect(lines.map((entry) => entry.line)).toContain("binary \u0000 output");
    const [task] = await database.sql`select state, head_sha, pipeline from tasks`;
    expect(task).toMatchObject({ state: "awaiting_ci", head_sha: "agent-commit-sha" });
    expect((task!.pipeline as { steps: Array<{ summary: string }> }).steps.at(-1)!.summary).toBe(
      "Fixed the README \uFFFD spelling.",
    );
    const chain = await readChain();
    expect(verifyChain(chain)).toMatchObject({ ok: true });
    expect(chain.find((record) => record.kind === "agent_job.finished")).toMatchObject({
      payload: {
        status: "succeeded",
        pushedSha: "agent-commit-sha",
        result: { summary: "Fixed the README \uFFFD spelling." },
      },
    });
  }, 120_000);

  test("an agent that writes no valid result.json fails the task with the reason and its log tail on the issue", async () => {
    const github = mockUpToDraftPr(buildConfig("echo 'working on it'; echo '{not json' > /foreman/out/result.json"));
    await mockAgentReads(github);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_FAILED" } });
    const comment = (lastStatusWrite(github)!.body as { body: string }).body;
    expect(comment).toContain("result.json");
    expect(comment).toContain("working on it");
    expect(github.writes().some((request) => request.path.includes("/git/trees") || request.path === "/graphql")).toBe(
      false,
    );
  }, 120_000);

  test("freezing while the agent runs stops its container and queues the step again for the resume", async () => {
    const github = mockUpToDraftPr(buildConfig("sleep 120", 300));
    await mockAgentReads(github);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    const docker = new Docker();
    const running = () =>
      docker.listContainers({ filters: { label: ["foreman.task=00000000-0000-4000-8000-000000000001"] } });
    await expect.poll(async () => (await running()).length, { timeout: 60_000, interval: 200 }).toBe(1);

    await foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "labeled",
        label: "needs-human-review",
        issueNumber: 1,
        sender: "lead",
        updatedAt: "2030-01-01T00:00:00Z",
      }),
    );
    await expect.poll(async () => (await running()).length, { timeout: 15_000, interval: 100 }).toBe(0);
    // The runner then reports the stopped job, and the task queues the step again.
    await expect
      .poll(async () => (await database.sql`select count(*)::int as n from agent_jobs where status = 'queued'`)[0]?.n, {
        timeout: 15_000,
      })
      .toBe(1);
    await foreman.worker.whenIdle();

    const [task] = await database.sql`select state, resume_state, frozen_by from tasks`;
    expect(task).toMatchObject({ state: "frozen", resume_state: "awaiting_agent", frozen_by: "lead" });
    const jobs = await database.sql`select status, failure_code from agent_jobs order by created_at`;
    expect(jobs.map((job) => `${job.status}:${job.failure_code ?? ""}`)).toEqual([
      "cancelled:AGENT_STOPPED",
      "queued:",
    ]);
    // The queued job waits: nothing else runs while the task is frozen.
    expect((await running()).length).toBe(0);

    // End it: the queued job is withdrawn.
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "closed", issueNumber: 1, sender: "lead", updatedAt: "2030-01-02T00:00:00Z" }),
    );
    await foreman.settle();
    expect((await database.sql`select status from agent_jobs order by created_at`).map((job) => job.status)).toEqual([
      "cancelled",
      "cancelled",
    ]);
    expect(REPO.owner).toBe("Codertocat");
  }, 120_000);

  test("after a crash, a job whose runner died is queued again, and on its last attempt fails the task in plain words", async () => {
    const github = mockUpToDraftPr(buildConfig("sleep 1"));
    await foreman.jobs!.stop(); // this replica "crashes" before it runs the job
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.worker.whenIdle();
    const lost = async (attempt: number) =>
      database.sql`update agent_jobs set status = 'running', attempt = ${attempt}, replica = 'dead-replica', lease_until = now() - interval '1 minute'`;

    await lost(1);
    await foreman.jobs!.recover();
    expect(await database.sql`select status, attempt from agent_jobs`).toMatchObject([
      { status: "queued", attempt: 2 },
    ]);

    await lost(3);
    await foreman.jobs!.recover();
    await foreman.worker.whenIdle();
    expect(await database.sql`select status, failure_code from agent_jobs`).toMatchObject([
      { status: "failed", failure_code: "INFRA_CONTAINER_LOST" },
    ]);
    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "INFRASTRUCTURE_ERROR" } });
    const comment = (lastStatusWrite(github)!.body as { body: string }).body;
    expect(comment).toContain("The agent's container was lost 3 times");
  }, 120_000);

  test("an unknown agent profile is a clear error on the issue before anything is read or run", async () => {
    const github = mockUpToDraftPr("agent: no-such-agent");
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_CONFIG_ERROR" } });
    const comment = (lastStatusWrite(github)!.body as { body: string }).body;
    expect(comment).toContain(
      'Unknown agent profile "no-such-agent". Known profiles: aider, claude-code, codex, gemini, openhands, script, windsurf.',
    );
    // Nothing beyond the draft PR was read or written: no issue thread, no tarball, no container.
    expect(
      github.requests.filter((request) => request.path.includes("/tarball/") || request.path.endsWith("/issues/1")),
    ).toEqual([]);
  }, 120_000);

  test("a repository prompt template that renders too much fails the task as the repository's problem, naming the file and the limit", async () => {
    const github = mockUpToDraftPr(buildConfig("exit 1"));
    github.scope.get(`${REPO_PATH}/issues/1`).reply(200, {
      number: 1,
      title: "Spelling error in the README file",
      body: "It says teh.",
      user: { login: "Codertocat" },
      labels: [],
    });
    github.scope.get(`${REPO_PATH}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
    // A 60,000-character partial included 50 times: two small files, a 3-million-character prompt.
    const overrides = { "partials/big.hbs": "x".repeat(60_000), "tasks/ready.md.hbs": "{{> big}}".repeat(50) };
    github.scope
      .get(`${REPO_PATH}/git/trees/plan-sha`)
      .query({ recursive: "true" })
      .reply(200, {
        sha: "base-tree-sha",
        truncated: false,
        tree: [
          { path: "README.md", type: "blob", mode: "100644", sha: "r1" },
          ...Object.keys(overrides).map((key) => ({
            path: `.github/foreman/prompts/${key}`,
            type: "blob",
            mode: "100644",
            sha: key,
          })),
        ],
      });
    for (const [key, content] of Object.entries(overrides)) {
      github.scope
        .get(`${REPO_PATH}/contents/${encodeURIComponent(`.github/foreman/prompts/${key}`)}`)
        .query({ ref: "base-sha" })
        .reply(200, { type: "file", encoding: "base64", content: Buffer.from(content).toString("base64") });
    }
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    expect(await database.sql`select status, failure_code from agent_jobs`).toMatchObject([
      { status: "failed", failure_code: "PROMPT_RENDER_FAILED" },
    ]);
    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_CONFIG_ERROR" } });
    const comment = (lastStatusWrite(github)!.body as { body: string }).body;
    expect(comment).toMatch(
      /\.github\/foreman\/prompts\/tasks\/ready\.md\.hbs \(or a partial it includes\) brought the prompt to \d+ characters; the limit is 1000000\./,
    );
    // The repository may have been fetched meanwhile (it is prepared while the prompt renders), but
    // no container ran: the job records no image.
    expect(await database.sql`select image from agent_jobs`).toEqual([{ image: null }]);
  }, 120_000);

  test("by default a repository's command on a built-in image is refused on the issue, naming the field and the setting", async () => {
    // The operator's defaults: REPO_PROFILE_OVERRIDES unset (tighten).
    await foreman.stop();
    foreman = await startTestForeman(database, { env: buildFileEnv({}), agents: true });
    const github = mockUpToDraftPr(
      ["agent: script", "profiles:", "  script:", '    command: ["sh", "-c", "env > /workspace/leak.txt"]'].join("\n"),
    );
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_CONFIG_ERROR" } });
    const [job] = await database.sql`select status, failure_code from agent_jobs`;
    expect(job).toMatchObject({ status: "failed", failure_code: "PROFILE_OVERRIDE_REFUSED" });
    const comment = (lastStatusWrite(github)!.body as { body: string }).body;
    expect(comment).toContain(
      "The repository's .github/foreman.yml sets `profiles.script.command`, which this Foreman installation does not let a repository do",
    );
    expect(comment).toContain("or an operator can allow it with REPO_PROFILE_OVERRIDES=command.");
    // Nothing was read for the agent or run: no issue thread, no tarball, no container.
    expect(
      github.requests.filter((request) => request.path.includes("/tarball/") || request.path.endsWith("/issues/1")),
    ).toEqual([]);
  }, 120_000);

  test("where commands are allowed, a repository's command on a built-in agent still gets no secret", async () => {
    const github = mockUpToDraftPr(
      [
        "agent: claude-code",
        "profiles:",
        "  claude-code:",
        '    command: ["sh", "-c", "env > /workspace/leak.txt"]',
      ].join("\n"),
    );
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_CONFIG_ERROR" } });
    const comment = (lastStatusWrite(github)!.body as { body: string }).body;
    expect(comment).toContain(
      'Agent profile "claude-code" runs a command from the repository\'s .github/foreman.yml and asks for ANTHROPIC_API_KEY; ' +
        "Foreman gives no agent secrets to a repository's own code.",
    );
    expect(comment).toContain("REPO_PROFILE_SECRETS=claude-code");
    expect(github.requests.filter((request) => request.path.includes("/tarball/"))).toEqual([]);
  }, 120_000);

  test("a diff that touches a protected path is not pushed, and the PR says why", async () => {
    const script = [
      "cd /workspace && mkdir -p .github/workflows && echo 'on: push' > .github/workflows/ci.yml",
      `printf '{"status":"success","summary":"Added CI."}' > /foreman/out/result.json`,
    ].join(" && ");
    const github = mockUpToDraftPr(buildConfig(script));
    await mockAgentReads(github);
    github.scope.post(`${REPO_PATH}/issues/7/comments`).reply(201, { id: 777 });
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    expect(
      github
        .writes()
        .some(
          (request) =>
            request.path.includes("/git/trees") || request.path.includes("/git/refs/") || request.path === "/graphql",
        ),
    ).toBe(false);
    const prComment = github.writes().find((request) => request.path.endsWith("/issues/7/comments"));
    expect((prComment!.body as { body: string }).body).toMatch(
      /^<!-- foreman:guardrails:[0-9a-f-]{36} -->\n### 🛑 Foreman did not push the coder step's changes\n\n/,
    );
    expect((prComment!.body as { body: string }).body).toContain(".github/workflows/ci.yml");
    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_FAILED" } });
  }, 120_000);

  test("a job leased before its task learned it started still stops when the task is frozen (the heartbeat checks the task)", async () => {
    mockUpToDraftPr(buildConfig("sleep 1"));
    await foreman.jobs!.stop();
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.worker.whenIdle();
    await database.sql`update agent_jobs set status = 'running', lease_until = now() + interval '1 minute'`;
    const [{ id }] = (await database.sql`select id from agent_jobs`) as unknown as [{ id: string }];
    expect(await heartbeatAgentJob(database.sql, id, 60_000)).toEqual({ cancelRequested: false });

    await foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "labeled",
        label: "needs-human-review",
        issueNumber: 1,
        sender: "lead",
        updatedAt: "2030-01-01T00:00:00Z",
      }),
    );
    await foreman.worker.whenIdle();
    expect(await database.sql`select state from tasks`).toMatchObject([{ state: "frozen" }]);
    expect(await heartbeatAgentJob(database.sql, id, 60_000)).toEqual({ cancelRequested: true });
  }, 60_000);

  test("recovery removes containers of this database's dead jobs, and leaves another installation's alone", async () => {
    mockUpToDraftPr(buildConfig("sleep 1"), { commentEdits: false });
    await foreman.jobs!.stop();
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.worker.whenIdle();
    const [{ id: jobId }] = (await database.sql`select id from agent_jobs`) as unknown as [{ id: string }];
    const docker = new Docker();
    const startLabelled = async (job: string, replica: string) => {
      const container = await docker.createContainer({
        Image: TEST_IMAGE,
        Cmd: ["sh", "-c", "sleep 120"],
        User: "65534:65534",
        Labels: { "foreman.task": "t", "foreman.job": job, "foreman.replica": replica },
        HostConfig: { AutoRemove: false, NetworkMode: "none" },
      });
      await container.start();
      return container;
    };
    const ours = await startLabelled(`${jobId}-1`, "dead-replica");
    const theirs = await startLabelled(`${randomUUID()}-1`, "another-installation");
    try {
      await foreman.jobs!.recover();
      const left = (await docker.listContainers({ all: true })).map((info) => info.Id);
      expect(left).not.toContain(ours.id);
      expect(left).toContain(theirs.id);
    } finally {
      await theirs.remove({ force: true });
      await ours.remove({ force: true }).catch(() => undefined);
    }
  }, 60_000);
});
