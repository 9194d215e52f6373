/**
 * The whole loop with real agent CLIs: Claude Code plans and codes, Codex reviews, each in the
 * shipped image, as the agent user, on a job network whose only way out is Foreman's egress proxy,
 * against the scripted model server (a container known as `model.test`). GitHub is strict nock.
 * What a test asserts: the GitHub writes and their bodies, the tree of the one commit, the prompt
 * each CLI received against the prompt Foreman rendered, the usage and cost on the task, and
 * what the issue says when the run fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  actionWrites,
  completeSuite,
  DRAFT_PR_WRITES,
  labelIssue,
  lastStatusComment,
  listRunningContainers,
  LOOP_PR,
  mockLoopGitHub,
  PIPELINE_WRITES,
  PUSH_WRITES,
  lastPushInput,
  readLoopTask,
  useLoopForeman,
  waitForRunningStep,
  writeBodies,
} from "../../helpers/loop-harness.js";
import { REPO_PATH } from "../../helpers/github-mock.js";
import { buildIssuesPayload } from "../../helpers/payloads.js";
import { userTexts } from "../../support/model-server/inspect.mjs";
import type { RecordedModelRequest } from "../../support/model-server/model-container.js";
import "../agents/docker-available.js";
import {
  MODEL_API_KEY,
  requireRealAgentImages,
  startRealAgentWorld,
  type RealAgentWorld,
} from "../agents/real-agent-world.js";

await requireRealAgentImages();

/** Filled in by beforeAll, read by each test's Foreman (useLoopForeman reads it before each test). */
const env: Record<string, string> = {};
const loop = useLoopForeman({ idPrefix: "e0000000", env });
const TASK = loop.id(1);

/** Claude Code plans and codes, Codex reviews; the repository asks for nothing else. */
function buildRealConfig(extra: string[] = []): string {
  return [
    "agent: claude-code",
    "roles:",
    "  planner: { agent: claude-code }",
    "  reviewer: { agent: codex }",
    ...extra,
  ].join("\n");
}

/** The repository at the plan commit. */
const FILES = { "README.md": "Teh README.\n", "OLD.md": "Obsolete.\n" };
/** After the coder. */
const CODED = { "README.md": "The README.\n", "CHANGELOG.md": "Fixed the README's spelling.\n" };

const PLAN = "1. Fix the spelling in README.md.\n2. Note it in CHANGELOG.md.\n3. Remove OLD.md.";
const CODER_TURNS = [
  { tool: "read", path: "README.md" },
  { tool: "edit", path: "README.md", old: "Teh", new: "The" },
  { tool: "write", path: "CHANGELOG.md", content: CODED["CHANGELOG.md"] },
  { tool: "delete", path: "OLD.md" },
  { say: "Fixed the spelling, noted it, removed OLD.md." },
];
const REVIEW = {
  status: "success",
  summary: "The change does what the plan says.",
  review: {
    body: "Spelling fixed, changelog noted, OLD.md gone.",
    comments: [{ path: "README.md", line: 1, body: "Good: 'The' is right." }],
  },
};
const REVIEWER_TURNS = [
  { tool: "read", path: "README.md" },
  { tool: "bash", command: `cat > /foreman/out/result.json <<'JSON'\n${JSON.stringify(REVIEW)}\nJSON` },
  { say: "Review written." },
];

describe("the whole loop with the real Claude Code and Codex CLIs", () => {
  let world: RealAgentWorld;

  beforeAll(async () => {
    world = await startRealAgentWorld("realloop");
    Object.assign(env, world.foremanEnv);
  }, 60_000);
  afterAll(async () => {
    await world?.remove();
  }, 60_000);

  test("label → Claude Code plans → Claude Code edits, creates and deletes → one commit of exactly that tree → Codex reviews with an inline comment → CI green → ready", async () => {
    const { foreman, database } = loop;
    await world.model.loadScenario({ turns: [{ say: PLAN }, ...CODER_TURNS, ...REVIEWER_TURNS] });
    const github = mockLoopGitHub(buildRealConfig()).draftPr();
    await github.stepReads("plan-sha", { times: 2, files: FILES });
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha", { files: CODED });
    github.diff("code-sha").review();

    await labelIssue(foreman);
    await foreman.settle();
    expect(await readLoopTask(database)).toMatchObject({ state: "awaiting_ci", head_sha: "code-sha" });
    expect(actionWrites(github)).toEqual(PIPELINE_WRITES);

    // The plan is Claude Code's answer, in the status comment (no comment of its own on the PR); the
    // commit's tree is exactly the coder's three changes.
    expect(writeBodies(github, "POST", `/issues/${LOOP_PR}/comments`)).toEqual([]);
    expect(lastStatusComment(github)).toContain("<details><summary>The planner's plan</summary>");
    expect(lastStatusComment(github)).toContain(PLAN);
    expect(lastPushInput(github)?.fileChanges).toEqual({
      additions: [
        { path: "CHANGELOG.md", contents: Buffer.from(CODED["CHANGELOG.md"]).toString("base64") },
        { path: "README.md", contents: Buffer.from(CODED["README.md"]).toString("base64") },
      ],
      deletions: [{ path: "OLD.md" }],
    });
    // Codex's review: comment-only, with its inline comment, on the commit it reviewed.
    const [review] = writeBodies<Record<string, unknown>>(github, "POST", `/pulls/${LOOP_PR}/reviews`);
    expect(review).toMatchObject({
      event: "COMMENT",
      commit_id: "code-sha",
      comments: [expect.objectContaining({ path: "README.md", line: 1, body: "Good: 'The' is right." })],
    });
    expect(String(review?.body)).toContain(REVIEW.review.body);

    // Each CLI received the prompt Foreman rendered and recorded for its job.
    const jobs = (await database.sql`
      select role, profile, prompt, usage from agent_jobs order by created_at, id`) as unknown as Array<{
      role: string;
      profile: string;
      prompt: string;
      usage: { tokens: number; costUsd: number };
    }>;
    expect(jobs.map((job) => `${job.role}:${job.profile}`)).toEqual([
      "planner:claude-code",
      "coder:claude-code",
      "reviewer:codex",
    ]);
    const requests = await world.model.requests();
    const firstTurns = [0, 1, 1 + CODER_TURNS.length];
    firstTurns.forEach((turn, index) => {
      const request = requests.find((candidate) => candidate.kind === "main" && candidate.turn === turn);
      expect(receivedPrompt(request), `the ${jobs[index]!.role}'s first model request`).toContain(
        jobs[index]!.prompt.trim(),
      );
    });
    expect(requests.filter((request) => request.api === "openai").length).toBe(REVIEWER_TURNS.length);

    // Usage and cost come from the CLIs: Claude Code's tokens and dollars, Codex's tokens.
    for (const job of jobs) expect(job.usage.tokens).toBeGreaterThan(0);
    expect(jobs[0]!.usage.costUsd).toBeGreaterThan(0);
    expect(jobs[2]!.usage.costUsd).toBe(0);
    const [spent] = await database.sql`select agent_tokens_used, agent_cost_usd from tasks`;
    expect(Number(spent!.agent_tokens_used)).toBe(jobs.reduce((sum, job) => sum + job.usage.tokens, 0));
    expect(Number(spent!.agent_cost_usd)).toBeCloseTo(jobs[0]!.usage.costUsd + jobs[1]!.usage.costUsd, 6);

    // Every request reached the model through the proxy: each job's evidence lists its attempts, all allowed.
    const finished = await database.sql`
      select payload from compliance_records where kind = 'agent_job.finished' order by seq`;
    for (const record of finished) {
      const payload = record.payload as {
        egress?: { attempts: number; refused: string[] };
        artifacts: { kind: string }[];
      };
      expect(payload.egress?.attempts).toBeGreaterThan(0);
      expect(payload.egress?.refused).toEqual([]);
      expect(payload.artifacts.map((artifact) => artifact.kind)).toContain("agent-egress");
    }
    expect(JSON.stringify(github.writes())).not.toContain(MODEL_API_KEY);

    // CI green: out of draft.
    github.ciVerdict("code-sha", "success", 42);
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady();
    await completeSuite(foreman, "code-sha", "success", 42);
    await foreman.settle();
    expect(await readLoopTask(database)).toMatchObject({ state: "ready_for_review" });
  }, 240_000);

  test("a step that spends more than the costUsd budget ends the task with BUDGET_EXCEEDED, its work kept on the branch and the spending on the issue", async () => {
    const { foreman, database } = loop;
    // Claude Code prices what the model reports: a million input tokens cost dollars.
    // (Each request stays well inside the context window: Claude Code would compact a longer one.)
    const expensive = CODER_TURNS.map((turn) => ({ ...turn, usage: { input: 50_000, output: 10_000 } }));
    await world.model.loadScenario({ turns: [{ say: PLAN }, ...expensive] });
    const github = mockLoopGitHub(buildRealConfig(["budgets:", "  costUsd: 1"])).draftPr();
    await github.stepReads("plan-sha", { times: 2, files: FILES });
    github.push("plan-sha", "code-sha");

    await labelIssue(foreman);
    await foreman.settle();

    const task = await readLoopTask(database);
    expect(task).toMatchObject({ state: "failed", head_sha: "code-sha", reason: { code: "BUDGET_EXCEEDED" } });
    expect(task.reason?.message).toMatch(/^Agents spent \$\d+\.\d\d, over the task's budget of \$1\.00\./);
    expect(task.reason?.message).toContain("The work done so far is pushed");
    // The push happened: nothing was lost; the issue's status comment says what was spent.
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, ...PUSH_WRITES]);
    expect(lastStatusComment(github)).toMatch(/Agents spent \$\d+\.\d\d, over the task's budget of \$1\.00/);
  }, 240_000);

  test("a coder that changes nothing, after the proxy refused the host it wanted, fails with AGENT_NO_CHANGES naming that host on the issue", async () => {
    const { foreman, database } = loop;
    await world.model.loadScenario({
      turns: [
        { say: PLAN },
        { tool: "bash", command: "git ls-remote http://registry.example.test/tools.git" },
        { say: "I could not fetch the tools, so I changed nothing." },
      ],
    });
    const github = mockLoopGitHub(buildRealConfig()).draftPr();
    await github.stepReads("plan-sha", { times: 2, files: FILES });
    github.scope
      .post(`${REPO_PATH}/issues/${LOOP_PR}/comments`, (body: { body?: string }) =>
        String(body.body).includes("foreman:egress:"),
      )
      .reply(201, { id: 803 });

    await labelIssue(foreman);
    await foreman.settle();

    const task = await readLoopTask(database);
    expect(task).toMatchObject({ state: "failed", reason: { code: "AGENT_NO_CHANGES" } });
    const named =
      "The agent tried to reach `registry.example.test:80`, which its profile does not allow, and the egress proxy refused it.";
    expect(task.reason?.message).toContain(named);
    expect(lastStatusComment(github)).toContain(named);
    // …and on the PR, where the reviewers look.
    const comments = writeBodies<{ body: string }>(github, "POST", `/issues/${LOOP_PR}/comments`);
    expect(comments.at(-1)?.body).toContain(named);
    const [record] = await database.sql`
      select payload from compliance_records where kind = 'agent_job.finished' and payload->>'role' = 'coder'`;
    expect((record!.payload as { egress: unknown }).egress).toMatchObject({
      refused: ["registry.example.test:80"],
      refusedAttempts: 1,
    });
  }, 240_000);

  test("the model API refusing the key (401) fails the task with words for the operator, and nothing is retried", async () => {
    const { foreman, database } = loop;
    await world.model.loadScenario({ turns: [{ status: 401 }] });
    const github = mockLoopGitHub(buildRealConfig()).draftPr();
    await github.stepReads("plan-sha", { files: FILES });

    await labelIssue(foreman);
    await foreman.settle();

    const task = await readLoopTask(database);
    // The operator's problem, and said so: the job's code names the model API, the task's the installation.
    expect(task).toMatchObject({ state: "failed", reason: { code: "INFRASTRUCTURE_ERROR" } });
    const jobs = await database.sql`select failure_code from agent_jobs`;
    expect(jobs.map((job) => job.failure_code)).toEqual(["MODEL_API_UNAUTHORIZED"]);
    expect(lastStatusComment(github)).toMatch(
      /refused the agent's credentials \(HTTP 401[\s\S]*for the operator to fix/,
    );
    expect(lastStatusComment(github)).toContain("not of your repository");
    expect((await world.model.state()).consumed).toBe(1);
    expect(actionWrites(github)).toEqual(DRAFT_PR_WRITES);
  }, 240_000);

  test("a freeze stops a running Claude Code (its model request hangs: it would never end by itself)", async () => {
    const { foreman } = loop;
    await world.model.loadScenario({ turns: [{ say: PLAN }, { hang: true, times: "always" }] });
    const github = mockLoopGitHub(buildRealConfig()).draftPr();
    await github.stepReads("plan-sha", { times: 2, files: FILES });

    await labelIssue(foreman);
    await waitForRunningStep(loop, TASK, "coder");
    // The CLI is inside its model request when the freeze comes.
    await world.model.requests(2);
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "labeled", label: "needs-human-review", issueNumber: 1, sender: "lead" }),
    );
    await expect
      .poll(async () => (await listRunningContainers(foreman, TASK)).length, { timeout: 30_000, interval: 100 })
      .toBe(0);
    await foreman.settle();
    const jobs = await loop.database.sql`select role, status, failure_code from agent_jobs order by created_at, id`;
    expect(jobs.map((job) => `${job.role}:${job.status}:${job.failure_code ?? ""}`)).toEqual([
      "planner:succeeded:",
      "coder:cancelled:AGENT_STOPPED",
      "coder:queued:",
    ]);
  }, 240_000);
});

/** The user-visible texts of a recorded request, joined: where the CLI put the prompt it was given. */
function receivedPrompt(request: RecordedModelRequest | undefined): string {
  expect(request).toBeDefined();
  return userTexts(request as never).join("\n");
}
