import { describe, expect, it } from "vitest";
import { readCliOutput } from "../../../src/agents/cli-output.js";

// The output shapes of the pinned CLI versions, as test/support/model-server/README.md records
// them from real runs (test/integration/model-server/ runs the CLIs themselves).
const none = { stdout: "", stderr: "" };

describe("Claude Code (--output-format json)", () => {
  it("reads the answer, the model, the usage (cache tokens counted as input) and the cost", () => {
    const stdout = JSON.stringify({
      type: "result",
      subtype: "success",
      is_error: false,
      result: "Done: edited a.txt.",
      num_turns: 5,
      total_cost_usd: 0.01995,
      usage: { input_tokens: 5000, cache_creation_input_tokens: 600, cache_read_input_tokens: 400, output_tokens: 130 },
      modelUsage: { "claude-sonnet-4-5": { inputTokens: 6000, outputTokens: 130, costUSD: 0.01995 } },
    });
    expect(readCliOutput("claude-json", { stdout, stderr: "" })).toEqual({
      kind: "answered",
      result: {
        status: "success",
        summary: "Done: edited a.txt.",
        model: "claude-sonnet-4-5",
        usage: { inputTokens: 6000, outputTokens: 130, costUsd: 0.01995 },
      },
    });
  });

  it("tells an API error by is_error and api_error_status (subtype stays success), with what was spent", () => {
    const stdout = JSON.stringify({
      type: "result",
      subtype: "success",
      is_error: true,
      api_error_status: 401,
      result: "Failed to authenticate. API Error: 401 invalid x-api-key",
      usage: { input_tokens: 0, output_tokens: 0 },
      total_cost_usd: 0,
    });
    expect(readCliOutput("claude-json", { stdout, stderr: "" })).toEqual({
      kind: "model_error",
      status: 401,
      message: "Failed to authenticate. API Error: 401 invalid x-api-key",
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    });
  });

  it("no output (a hang killed, a crash) is unreadable, never an answer", () => {
    expect(readCliOutput("claude-json", none)).toMatchObject({ kind: "unreadable" });
    expect(readCliOutput("claude-json", { stdout: "not json", stderr: "" })).toMatchObject({ kind: "unreadable" });
  });
});

describe("Codex (exec --json)", () => {
  const events = (...lines: object[]) => lines.map((line) => JSON.stringify(line)).join("\n");

  it("reads the last agent message and sums the turns' usage (Codex reports no cost)", () => {
    const stdout = events(
      { type: "thread.started", thread_id: "t1" },
      { type: "turn.started" },
      { type: "item.completed", item: { id: "i1", type: "command_execution", aggregated_output: "ok", exit_code: 0 } },
      { type: "item.completed", item: { id: "i2", type: "agent_message", text: "Edited a.txt." } },
      { type: "turn.completed", usage: { input_tokens: 4000, cached_input_tokens: 1000, output_tokens: 90 } },
    );
    expect(
      readCliOutput("codex-jsonl", { stdout: `Reading additional input from stdin...\n${stdout}`, stderr: "" }),
    ).toEqual({
      kind: "answered",
      result: { status: "success", summary: "Edited a.txt.", usage: { inputTokens: 4000, outputTokens: 90 } },
    });
  });

  it("an error event names the HTTP status when there was one", () => {
    const failed = (message: string) =>
      readCliOutput("codex-jsonl", {
        stdout: events(
          { type: "turn.started" },
          { type: "error", message },
          { type: "turn.failed", error: { message } },
        ),
        stderr: "",
      });
    expect(failed("unexpected status 401 Unauthorized: bad key, url: http://x/v1/responses")).toMatchObject({
      kind: "model_error",
      status: 401,
    });
    expect(failed("exceeded retry limit, last status: 429 Too Many Requests")).toMatchObject({ status: 429 });
    expect(failed("We’re currently experiencing high demand, which may cause temporary errors.")).toMatchObject({
      kind: "model_error",
      status: null,
    });
  });

  it("a turn that never completed (a hang killed) is unreadable", () => {
    expect(readCliOutput("codex-jsonl", { stdout: events({ type: "turn.started" }), stderr: "" })).toMatchObject({
      kind: "unreadable",
    });
    expect(readCliOutput("codex-jsonl", none)).toMatchObject({ kind: "unreadable" });
  });
});

describe("Gemini CLI (--output-format json)", () => {
  it("reads the response and the token counts per model (thoughts count as output; no cost)", () => {
    const stdout = JSON.stringify({
      session_id: "s",
      response: "Edited a.txt.",
      stats: {
        models: { "gemini-2.5-flash": { tokens: { prompt: 3000, candidates: 80, thoughts: 20, total: 3100 } } },
      },
    });
    expect(readCliOutput("gemini-json", { stdout, stderr: "" })).toEqual({
      kind: "answered",
      result: {
        status: "success",
        summary: "Edited a.txt.",
        model: "gemini-2.5-flash",
        usage: { inputTokens: 3000, outputTokens: 100 },
      },
    });
  });

  it("an error is on stderr after a stack trace, with the HTTP status as its code", () => {
    const stderr = `Error: boom\n    at x (y.js:1:1)\n${JSON.stringify({ session_id: "s", error: { type: "Error", message: "quota", code: 429 } })}`;
    expect(readCliOutput("gemini-json", { stdout: "", stderr })).toEqual({
      kind: "model_error",
      status: 429,
      message: "quota",
    });
  });

  it("exit 0 with nothing printed (killed during a hang) is unreadable, not success", () => {
    expect(readCliOutput("gemini-json", none)).toMatchObject({ kind: "unreadable" });
  });
});
