import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GEMINI_MODEL, geminiCommand, geminiHomeFiles } from "../../support/model-server/agent-commands.js";
import { type AgentClis, installAgentClis } from "../../support/model-server/install-clis.js";
import { offeredTools } from "../../support/model-server/inspect.mjs";
import { type CliWorkspace, createCliWorkspace, runCli, startCli } from "../../support/model-server/run-cli.js";
import { type ModelServer, startModelServer } from "../../support/model-server/server.mjs";
import { FILES, FINAL_ANSWER, PROMPT, SCENARIO, TOTAL_USAGE, expectScenarioPlayed } from "./edit-create-delete.js";

// The real Gemini CLI (`gemini -p --yolo --output-format json`), as a non-root user in a
// temporary git repository, against the scripted model server's Gemini API.
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

describe("Gemini CLI against the model server", () => {
  it("edits, creates and deletes files, sends the prompt and the tool results, and reports usage", async () => {
    server.loadScenario(SCENARIO);
    workspace = await createCliWorkspace(FILES, geminiHomeFiles());
    const { command, args, env } = geminiCommand(clis, server.url, PROMPT);
    const run = await runCli(command, args, workspace, env);
    expect(run.code, run.stderr).toBe(0);

    const requests = server.requests();
    const main = await expectScenarioPlayed(requests, workspace, [
      "read_file",
      "replace",
      "write_file",
      "run_shell_command",
      null,
    ]);
    expect(offeredTools(main[0]!)).toEqual(
      expect.arrayContaining(["read_file", "replace", "write_file", "run_shell_command"]),
    );
    expect(main.map((request) => request.path)).toEqual(
      main.map(() => `/v1beta/models/${GEMINI_MODEL}:streamGenerateContent`),
    );
    expect(main[0]!.headers["x-goog-api-key"]).toBe("[redacted]");

    const output = JSON.parse(run.stdout) as Record<string, any>;
    expect(output.response).toBe(FINAL_ANSWER);
    expect(output.stats.models[GEMINI_MODEL].roles.main.tokens).toMatchObject({
      prompt: TOTAL_USAGE.input,
      candidates: TOTAL_USAGE.output,
      total: TOTAL_USAGE.input + TOTAL_USAGE.output,
    });
    expect(output.stats.tools.byName).toMatchObject({
      read_file: { count: 1, success: 1 },
      replace: { count: 1, success: 1 },
      write_file: { count: 1, success: 1 },
      run_shell_command: { count: 1, success: 1 },
    });
  });

  it("with its default model, the router's classifier call is auxiliary and takes no turn", async () => {
    server.loadScenario({ turns: [{ say: "Routed." }] });
    workspace = await createCliWorkspace(FILES, geminiHomeFiles());
    const { command, args, env } = geminiCommand(clis, server.url, PROMPT, { model: null });
    const run = await runCli(command, args, workspace, env);
    expect(run.code, run.stderr).toBe(0);

    expect(JSON.parse(run.stdout)).toMatchObject({ response: "Routed." });
    const requests = server.requests();
    expect(requests.map((request) => [request.kind, request.turn, request.outcome])).toEqual([
      ["aux", null, "answered"],
      ["main", 0, "answered"],
    ]);
    expect(requests[0]!.path).toMatch(/^\/v1beta\/models\/[^/]+:generateContent$/);
    expect(requests[0]!.body).toMatchObject({ generationConfig: { responseMimeType: "application/json" } });
    expect(requests[0]!.body).not.toHaveProperty("tools");
  });

  // The exit code is the HTTP status modulo 256 (process.exit(401) is 145); with --output-format json
  // the error object goes to stderr, after the stack trace, and stdout stays empty.
  it.each([
    [
      401,
      145,
      '{"error":{"code":401,"message":"model-server: scripted 401 (scenario turn 0)","status":"UNAUTHENTICATED"}}',
    ],
    [429, 173, "model-server: scripted 429 (scenario turn 0)"],
    [500, 244, '{"error":{"code":500,"message":"model-server: scripted 500 (scenario turn 0)","status":"INTERNAL"}}'],
  ])("on %i it exits %i and writes the error as JSON to stderr", async (status, exitCode, message) => {
    server.loadScenario({ turns: [{ status, times: "always" }] });
    workspace = await createCliWorkspace(FILES, geminiHomeFiles());
    const { command, args, env } = geminiCommand(clis, server.url, PROMPT);
    const run = await runCli(command, args, workspace, env);

    expect(run.code, run.stderr).toBe(exitCode);
    expect(run.stdout).toBe("");
    expect(lastJsonObject(run.stderr)).toEqual({
      session_id: expect.any(String),
      error: { type: "Error", message, code: status },
    });
    const main = server.requests().filter((request) => request.kind === "main");
    expect(main.map((request) => request.outcome)).toEqual([`status ${status}`]);
  });

  it("waits on a request that is never answered; a SIGTERM ends it with exit code 0 and no output", async () => {
    server.loadScenario({ turns: [{ hang: true }] });
    workspace = await createCliWorkspace(FILES, geminiHomeFiles());
    const { command, args, env } = geminiCommand(clis, server.url, PROMPT);
    const run = startCli(command, args, workspace, env);
    try {
      await server.waitForRequest((request) => request.outcome === "hang");
      expect(run.running()).toBe(true);
    } finally {
      run.child.kill("SIGTERM");
    }
    // Exit code 0 although nothing was answered: a runner must not read 0 as success without a result.
    expect(await run.exited).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toBe("");
  });
});

/** The last pretty-printed JSON object in a text (it starts on a line of its own with "{"). */
function lastJsonObject(text: string): unknown {
  const start = text.lastIndexOf("\n{\n");
  return JSON.parse(text.slice(start + 1));
}
