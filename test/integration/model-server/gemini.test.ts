import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GEMINI_MODEL, geminiCommand, geminiHomeFiles } from "../../support/model-server/agent-commands.js";
import { type AgentClis, installAgentClis } from "../../support/model-server/install-clis.js";
import { offeredTools } from "../../support/model-server/inspect.mjs";
import { type CliWorkspace, createCliWorkspace, runCli } from "../../support/model-server/run-cli.js";
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
});
