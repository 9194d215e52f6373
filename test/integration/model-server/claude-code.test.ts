import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLAUDE_MODEL, claudeCommand } from "../../support/model-server/agent-commands.js";
import { type AgentClis, installAgentClis } from "../../support/model-server/install-clis.js";
import { offeredTools } from "../../support/model-server/inspect.mjs";
import { type CliWorkspace, createCliWorkspace, runCli } from "../../support/model-server/run-cli.js";
import { type ModelServer, startModelServer } from "../../support/model-server/server.mjs";
import { FILES, FINAL_ANSWER, PROMPT, SCENARIO, TOTAL_USAGE, expectScenarioPlayed } from "./edit-create-delete.js";

// The real Claude Code binary, as a non-root user in a temporary git repository, against the
// scripted model server: it edits one file, creates one and deletes one.
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

describe("Claude Code against the model server", () => {
  it("edits, creates and deletes files, sends the prompt and the tool results, and reports usage and cost", async () => {
    server.loadScenario(SCENARIO);
    workspace = await createCliWorkspace(FILES);
    const { command, args, env } = claudeCommand(clis, server.url, PROMPT);
    const run = await runCli(command, args, workspace, env);
    expect(run.code, run.stderr).toBe(0);

    const main = await expectScenarioPlayed(server.requests(), workspace, ["Read", "Edit", "Write", "Bash", null]);
    expect(offeredTools(main[0]!)).toEqual(expect.arrayContaining(["Bash", "Edit", "Read", "Write"]));
    expect(main[0]!.path).toBe("/v1/messages");
    expect(main[0]!.headers["x-api-key"]).toBe("[redacted]");
    expect(main.every((request) => (request.body as { stream?: boolean }).stream === true)).toBe(true);

    const result = JSON.parse(run.stdout) as Record<string, any>;
    expect(result).toMatchObject({
      type: "result",
      subtype: "success",
      is_error: false,
      result: FINAL_ANSWER,
      num_turns: 5,
      usage: { input_tokens: TOTAL_USAGE.input, output_tokens: TOTAL_USAGE.output },
    });
    // Claude Sonnet 4.5 costs $3 per million input tokens and $15 per million output tokens.
    expect(result.total_cost_usd).toBeCloseTo((TOTAL_USAGE.input * 3 + TOTAL_USAGE.output * 15) / 1e6, 10);
    expect(result.modelUsage[CLAUDE_MODEL]).toMatchObject({ inputTokens: 6000, outputTokens: 130 });
  });
});
