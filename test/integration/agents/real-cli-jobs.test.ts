/**
 * One job of each real agent CLI, run the way Foreman runs it (`runAgentJob` with the built-in
 * profile, the shipped image, the egress firewall), against the scripted model behind the proxy.
 * Each outcome a real CLI can have is told apart here, in the words the issue will show:
 * an answer with its usage and cost, the model API's 401, 429 and 500, a refused host, a hang
 * (timeout), a non-zero exit, no answer at all. The whole loop with these CLIs is in
 * test/integration/loop/real-agents.test.ts.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJobOutcome } from "../../../src/agents/job-outcome.js";
import { BUILT_IN_PROFILES, type ProfileSources } from "../../../src/agents/profiles.js";
import { runAgentJob, type AgentJobRequest } from "../../../src/agents/run-agent-job.js";
import { toEgressRules } from "../../../src/agents/egress/egress-rule.js";
import { userTexts } from "../../support/model-server/inspect.mjs";
import "./docker-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import {
  MODEL_API_KEY,
  MODEL_HOST,
  requireRealAgentImages,
  startRealAgentWorld,
  type RealAgentWorld,
} from "./real-agent-world.js";
import { createTempDir } from "./sandbox-fixtures.js";

await requireRealAgentImages();

/**
 * The proxy let the model's requests through and saw nothing else: one record per plain-HTTP
 * request (Claude Code, Codex), or CONNECT tunnels that carried them (the Gemini CLI's Node
 * client tunnels even http://), every one allowed and to the model.
 */
function expectAllThroughProxy(outcome: AgentJobOutcome, modelRequests: number): void {
  const records = outcome.run?.egress?.records ?? [];
  expect(records.length).toBeGreaterThan(0);
  expect(new Set(records.map((record) => `${record.host}:${record.port} ${record.verdict}`))).toEqual(
    new Set([`${MODEL_HOST}:8080 allowed`]),
  );
  const plain = records.filter((record) => record.method !== "CONNECT");
  if (plain.length === records.length) expect(plain).toHaveLength(modelRequests);
}

const PROMPT = "Fix the greeting in hello.txt.\n\nForeman prompt marker 7f3a.";

describe("real agent CLIs in Foreman's sandbox, against the scripted model behind the egress proxy", () => {
  let world: RealAgentWorld;
  let workspaces: Awaited<ReturnType<typeof createTempDir>>;

  beforeAll(async () => {
    world = await startRealAgentWorld("clijobs");
    workspaces = await createTempDir("foreman-clijobs-ws-");
  }, 60_000);
  afterAll(async () => {
    await world?.remove();
    await workspaces?.cleanup();
  }, 60_000);

  function job(profileName: string, overrides: Partial<AgentJobRequest> = {}): AgentJobRequest {
    const sources: ProfileSources = {
      builtIn: BUILT_IN_PROFILES,
      imageAllowlist: [],
      egressAllow: toEgressRules([world.model.hostPort]),
    };
    return {
      taskId: "task-cli",
      jobId: `job-${randomUUID()}`,
      replica: world.replica,
      profileName,
      profileSources: sources,
      prompt: PROMPT,
      context: {},
      agentSecrets: world.agentEnv,
      workspaceBaseDir: workspaces.dir,
      ...overrides,
    };
  }

  async function run(request: AgentJobRequest): Promise<AgentJobOutcome> {
    return runAgentJob(request, {
      runner: world.runner,
      fetchTarball: () => buildRepoTarball({ "hello.txt": "hello wrold\n", "old.txt": "remove me\n" }),
      now: () => new Date(),
    });
  }

  it("Claude Code edits, creates and deletes files through its tools, via the proxy, and reports usage and cost", async () => {
    await world.model.loadScenario({
      turns: [
        { tool: "read", path: "hello.txt", usage: { input: 1000, output: 20 } },
        { tool: "edit", path: "hello.txt", old: "wrold", new: "world" },
        { tool: "write", path: "notes/new.txt", content: "created\n" },
        { tool: "delete", path: "old.txt" },
        { say: "Fixed the greeting.", usage: { input: 2000, output: 40 } },
      ],
    });
    const outcome = await run(job("claude-code"));
    expect(outcome, JSON.stringify(outcome).slice(0, 3000)).toMatchObject({ kind: "succeeded" });
    if (outcome.kind !== "succeeded") return;
    expect(outcome.changes.map((change) => [change.path, change.status]).sort()).toEqual([
      ["hello.txt", "modified"],
      ["notes/new.txt", "added"],
      ["old.txt", "deleted"],
    ]);
    expect(outcome.result).toMatchObject({ status: "success", summary: "Fixed the greeting." });
    expect(outcome.result.usage?.outputTokens).toBeGreaterThanOrEqual(20 + 10 * 3 + 40);
    expect(outcome.result.usage?.costUsd).toBeGreaterThan(0);
    // The prompt the model got is Foreman's; every request it got came through the proxy, which
    // logged each one as allowed (the job network has no other way out: no route, no DNS).
    const requests = await world.model.requests();
    const main = requests.filter((request) => request.kind === "main");
    expect(main).toHaveLength(5);
    expect(userTexts(main[0] as never).join("\n")).toContain("Foreman prompt marker 7f3a.");
    expectAllThroughProxy(outcome, requests.length);
    expect(JSON.stringify(outcome.log)).not.toContain(MODEL_API_KEY);
  }, 120_000);

  it("Codex reviews: it writes result.json with an inline comment through its shell, and its token counts are the job's", async () => {
    const review = {
      status: "success",
      summary: "Reviewed the greeting fix.",
      review: { body: "One note.", comments: [{ path: "hello.txt", line: 1, body: "Consider a comma." }] },
    };
    await world.model.loadScenario({
      turns: [
        { tool: "read", path: "hello.txt", usage: { input: 500, output: 30 } },
        {
          tool: "bash",
          command: `cat > /foreman/out/result.json <<'JSON'\n${JSON.stringify(review)}\nJSON`,
          usage: { input: 600, output: 40 },
        },
        { say: "Review written.", usage: { input: 700, output: 50 } },
      ],
    });
    const outcome = await run(job("codex", { discardChanges: true }));
    expect(outcome, JSON.stringify(outcome).slice(0, 3000)).toMatchObject({ kind: "succeeded" });
    if (outcome.kind !== "succeeded") return;
    // What result.json says is the answer; the usage is what Codex counted (it reports no cost).
    expect(outcome.result).toMatchObject({ ...review, usage: { inputTokens: 1800, outputTokens: 120 } });
    expect(outcome.result.usage?.costUsd).toBeUndefined();
    const requests = await world.model.requests();
    expect(requests.filter((request) => request.kind === "main")).toHaveLength(3);
    expect(userTexts(requests[0] as never).join("\n")).toContain("Foreman prompt marker 7f3a.");
    expectAllThroughProxy(outcome, requests.length);
  }, 120_000);

  it("the Gemini CLI writes a file through its tools, via the proxy, and reports its token counts", async () => {
    await world.model.loadScenario({
      turns: [
        { tool: "write", path: "notes/gemini.txt", content: "from gemini\n", usage: { input: 300, output: 20 } },
        { say: "Wrote the note.", usage: { input: 400, output: 30 } },
      ],
    });
    const outcome = await run(job("gemini"));
    expect(outcome, JSON.stringify(outcome).slice(0, 3000)).toMatchObject({ kind: "succeeded" });
    if (outcome.kind !== "succeeded") return;
    expect(outcome.changes.map((change) => [change.path, change.status])).toEqual([["notes/gemini.txt", "added"]]);
    expect(outcome.result).toMatchObject({ status: "success", summary: "Wrote the note." });
    expect(outcome.result.usage?.outputTokens).toBe(50);
    const requests = await world.model.requests();
    expect(userTexts(requests.find((request) => request.kind === "main") as never).join("\n")).toContain(
      "Foreman prompt marker 7f3a.",
    );
    expectAllThroughProxy(outcome, requests.length);
  }, 120_000);

  it.each([
    [401, "MODEL_API_UNAUTHORIZED", /refused the agent's credentials \(HTTP 401[\s\S]*for the operator to fix/],
    [429, "MODEL_API_RATE_LIMITED", /rate-limiting the agent \(HTTP 429[\s\S]*tries the step again later/],
    [500, "MODEL_API_UNAVAILABLE", /The model API failed \(HTTP 500[\s\S]*usually temporary/],
  ])(
    "Claude Code's model API answering %i is told apart: %s",
    async (status, code, words) => {
      await world.model.loadScenario({ turns: [{ status }] });
      const outcome = await run(job("claude-code"));
      expect(outcome).toMatchObject({ kind: "failed", code });
      if (outcome.kind !== "failed") return;
      expect(outcome.message).toMatch(words);
      expect(outcome.message).toContain("Nothing was pushed.");
      expect(outcome.message).not.toContain(MODEL_API_KEY);
      expect((await world.model.state()).consumed).toBe(1);
    },
    120_000,
  );

  it("Codex's model API answering 401 is the operator's to fix", async () => {
    await world.model.loadScenario({ turns: [{ status: 401, times: "always" }] });
    const outcome = await run(job("codex"));
    expect(outcome).toMatchObject({ kind: "failed", code: "MODEL_API_UNAUTHORIZED" });
    if (outcome.kind === "failed") expect(outcome.message).toMatch(/HTTP 401[\s\S]*OPENAI_API_KEY/);
  }, 120_000);

  it("a host the profile does not allow is refused by the proxy and named in the failure", async () => {
    await world.model.loadScenario({
      turns: [
        { tool: "bash", command: "git ls-remote http://registry.example.test/tools.git; echo exit=$?" },
        { status: 500 },
      ],
    });
    const outcome = await run(job("claude-code"));
    expect(outcome).toMatchObject({ kind: "failed", code: "MODEL_API_UNAVAILABLE" });
    if (outcome.kind !== "failed") return;
    expect(outcome.message).toContain(
      "The agent tried to reach `registry.example.test:80`, which its profile does not allow, and the egress proxy refused it.",
    );
    const refused = outcome.run?.egress?.records.filter((record) => record.verdict === "refused") ?? [];
    expect(refused.map((record) => [record.host, record.status])).toEqual([["registry.example.test", 403]]);
    // The refusal is in the job's log too, where the agent's own output is.
    expect(outcome.log?.jsonl).toMatch(/registry\.example\.test/);
  }, 120_000);

  it("a CLI that hangs on the model is stopped at the profile's timeout", async () => {
    await world.model.loadScenario({ turns: [{ hang: true }] });
    const request = job("claude-code", {
      profileSources: {
        ...job("claude-code").profileSources,
        appProfiles: { "claude-code": { timeoutSeconds: 10 } },
      },
    });
    const outcome = await run(request);
    expect(outcome).toMatchObject({ kind: "failed", code: "AGENT_TIMEOUT" });
    if (outcome.kind === "failed") expect(outcome.message).toContain("did not finish within 10 seconds");
    // The CLI was waiting on the model's answer when it was stopped.
    const requests = await world.model.requests();
    expect(requests.filter((request) => request.kind === "main").map((request) => request.outcome)).toEqual(["hang"]);
  }, 120_000);

  it("a CLI that exits non-zero on its own (here: a flag it does not know) fails with its log", async () => {
    await world.model.loadScenario({ turns: [] });
    const request = job("claude-code", {
      profileSources: {
        ...job("claude-code").profileSources,
        appProfiles: {
          "claude-code": {
            command: ["sh", "-c", "claude -p --no-such-flag < /foreman/prompt.md > /foreman/out/claude.json"],
          },
        },
      },
    });
    const outcome = await run(request);
    expect(outcome).toMatchObject({ kind: "failed", code: "AGENT_EXIT_NONZERO" });
    if (outcome.kind !== "failed") return;
    expect(outcome.message).toMatch(/exited with code [1-9]/);
    expect(outcome.logTail).toMatch(/no-such-flag/);
    expect(await world.model.requests()).toEqual([]);
  }, 120_000);
});
