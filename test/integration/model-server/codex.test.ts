import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { codexCommand } from "../../support/model-server/agent-commands.js";
import { type AgentClis, installAgentClis } from "../../support/model-server/install-clis.js";
import { offeredTools } from "../../support/model-server/inspect.mjs";
import { type CliWorkspace, createCliWorkspace, runCli, startCli } from "../../support/model-server/run-cli.js";
import { type ModelServer, startModelServer } from "../../support/model-server/server.mjs";
import { FILES, FINAL_ANSWER, PROMPT, SCENARIO, TOTAL_USAGE, expectScenarioPlayed } from "./edit-create-delete.js";

// The real Codex CLI (`codex exec --json`), as a non-root user in a temporary git repository,
// against the scripted model server's Responses API.
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

/** The JSONL events `codex exec --json` printed. */
function events(stdout: string): Record<string, any>[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, any>);
}

describe("Codex against the model server", () => {
  it("edits, creates and deletes files, sends the prompt and the tool results, and reports usage", async () => {
    server.loadScenario(SCENARIO);
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = codexCommand(clis, server.url, PROMPT);
    const run = await runCli(command, args, workspace, env);
    expect(run.code, run.stderr).toBe(0);

    const main = await expectScenarioPlayed(server.requests(), workspace, [
      "exec_command",
      "apply_patch",
      "apply_patch",
      "exec_command",
      null,
    ]);
    expect(offeredTools(main[0]!)).toEqual(expect.arrayContaining(["exec_command", "apply_patch"]));
    expect(main[0]!.path).toBe("/v1/responses");
    expect(main[0]!.headers["authorization"]).toBe("[redacted]");

    const printed = events(run.stdout);
    const completed = printed.filter((event) => event.type === "item.completed").map((event) => event.item);
    expect(completed.map((item) => item.type)).toEqual([
      "command_execution",
      "agent_message",
      "file_change",
      "file_change",
      "command_execution",
      "agent_message",
    ]);
    expect(completed.at(-1)).toMatchObject({ type: "agent_message", text: FINAL_ANSWER });
    expect(printed.filter((event) => event.type === "turn.completed")).toEqual([
      {
        type: "turn.completed",
        usage: expect.objectContaining({
          input_tokens: TOTAL_USAGE.input,
          cached_input_tokens: 0,
          output_tokens: TOTAL_USAGE.output,
        }),
      },
    ]);
  });

  it.each([
    [401, "unexpected status 401 Unauthorized: model-server: scripted 401 (scenario turn 0), url: URL/v1/responses"],
    [429, "exceeded retry limit, last status: 429 Too Many Requests"],
    [500, "We’re currently experiencing high demand, which may cause temporary errors."],
  ])("on %i it exits 1 after a turn.failed event", async (status, message) => {
    server.loadScenario({ turns: [{ status, times: "always" }] });
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = codexCommand(clis, server.url, PROMPT);
    const run = await runCli(command, args, workspace, env);

    expect(run.code, run.stderr).toBe(1);
    const expected = message.replace("URL", server.url);
    expect(events(run.stdout).filter((event) => event.type === "turn.failed" || event.type === "error")).toEqual([
      { type: "error", message: expected },
      { type: "turn.failed", error: { message: expected } },
    ]);
    const main = server.requests().filter((request) => request.kind === "main");
    expect(main.map((request) => request.outcome)).toEqual([`status ${status}`]);
  });

  it("waits on a request that is never answered, and a SIGTERM ends it", async () => {
    server.loadScenario({ turns: [{ hang: true }] });
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = codexCommand(clis, server.url, PROMPT);
    const run = startCli(command, args, workspace, env);
    try {
      await server.waitForRequest((request) => request.outcome === "hang");
      expect(run.running()).toBe(true);
    } finally {
      run.child.kill("SIGTERM");
    }
    // The launcher passes the signal on to the native binary and dies of it; nothing after turn.started.
    expect(await run.exited).toEqual({ code: null, signal: "SIGTERM" });
    expect(events(run.stdout()).map((event) => event.type)).toEqual(["thread.started", "turn.started"]);
  });
});
