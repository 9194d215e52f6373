import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { claudeCommand } from "../../support/model-server/agent-commands.js";
import { type AgentClis, installAgentClis } from "../../support/model-server/install-clis.js";
import { type CliWorkspace, createCliWorkspace, runCli, startCli } from "../../support/model-server/run-cli.js";
import { type ModelServer, startModelServer } from "../../support/model-server/server.mjs";
import { FILES, PROMPT } from "./edit-create-delete.js";

// What the real Claude Code does when the API fails: 401, 429, 500 (no retries: CLAUDE_CODE_MAX_RETRIES=0),
// a 500 it retries past, and a request that is never answered.
let clis: AgentClis;
let server: ModelServer;
let workspace: CliWorkspace | undefined;

beforeAll(async () => {
  clis = await installAgentClis();
  server = await startModelServer();
}, 600_000);
afterEach(async () => {
  await workspace?.remove();
  workspace = undefined;
});
afterAll(async () => {
  await server?.close();
});

describe("Claude Code when the model API fails", () => {
  it.each([
    [401, "Failed to authenticate. API Error: 401 model-server: scripted 401 (scenario turn 0)"],
    [429, "API Error: Request rejected (429) · model-server: scripted 429 (scenario turn 0)"],
    [
      500,
      "API Error: 500 model-server: scripted 500 (scenario turn 0). This is a server-side issue, usually temporary — " +
        "try again in a moment. If it persists, check your inference gateway (HOST).",
    ],
  ])("on %i it exits 1 with an error result naming the status", async (status, message) => {
    server.loadScenario({ turns: [{ status, times: "always" }] });
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = claudeCommand(clis, server.url, PROMPT);
    const run = await runCli(command, args, workspace, env);

    expect(run.code, run.stderr).toBe(1);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({
      type: "result",
      subtype: "success",
      is_error: true,
      api_error_status: status,
      result: message.replace("HOST", server.url.replace("http://", "")),
      total_cost_usd: 0,
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    const main = server.requests().filter((request) => request.kind === "main");
    expect(main.map((request) => request.outcome)).toEqual([`status ${status}`]);
    expect(await workspace.files()).toEqual(Object.keys(FILES).sort());
  });

  it("retries a 500 when allowed to, and the retry takes the next turn", async () => {
    server.loadScenario({ turns: [{ status: 500 }, { say: "Recovered." }] });
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = claudeCommand(clis, server.url, PROMPT, { maxRetries: 1 });
    const run = await runCli(command, args, workspace, env);

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ is_error: false, result: "Recovered." });
    const main = server.requests().filter((request) => request.kind === "main");
    expect(main.map((request) => [request.turn, request.outcome])).toEqual([
      [0, "status 500"],
      [1, "answered"],
    ]);
  });

  it("waits on a request that is never answered, and a SIGTERM ends it", async () => {
    server.loadScenario({ turns: [{ hang: true }] });
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = claudeCommand(clis, server.url, PROMPT);
    const run = startCli(command, args, workspace, env);
    try {
      await server.waitForRequest((request) => request.outcome === "hang");
      expect(run.running()).toBe(true);
      expect(server.state().hanging).toBe(1);
    } finally {
      run.child.kill("SIGTERM");
    }
    // Claude Code catches SIGTERM and exits 143 (128 + 15) without printing a result.
    expect(await run.exited).toEqual({ code: 143, signal: null });
    expect(run.stdout()).toBe("");
  });
});
