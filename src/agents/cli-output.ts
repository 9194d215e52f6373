/**
 * What a real agent CLI printed, read as Foreman's `AgentResult`: the final answer, the model,
 * the usage and the cost where the CLI reports them, or the model API's refusal with its HTTP
 * status. Pure: the text comes in, a verdict goes out. The shapes are those of the pinned CLI
 * versions (test/support/model-server/README.md records them); anything else is "unreadable",
 * never a guess.
 */
import type { AgentResult } from "./agent-result.js";

/** The output formats Foreman reads: one per CLI family. */
export const CLI_OUTPUT_FORMATS = Object.freeze(["claude-json", "codex-jsonl", "gemini-json"] as const);

/** A CLI output format. */
export type CliOutputFormat = (typeof CLI_OUTPUT_FORMATS)[number];

/** What the CLI's output says happened. */
export type CliVerdict =
  | { kind: "answered"; result: AgentResult }
  /** The model API refused or failed: `status` is its HTTP status when the CLI says it (null: no answer at all). */
  | { kind: "model_error"; status: number | null; message: string; usage?: AgentResult["usage"] }
  /** Nothing Foreman can read: no output, or output of another shape. */
  | { kind: "unreadable"; reason: string };

/** Read a CLI's output (`stdout`, its output file) and, where a CLI reports errors there, its `stderr`. */
export function readCliOutput(format: CliOutputFormat, output: { stdout: string; stderr: string }): CliVerdict {
  switch (format) {
    case "claude-json":
      return readClaudeJson(output.stdout);
    case "codex-jsonl":
      return readCodexJsonl(output.stdout);
    case "gemini-json":
      return readGeminiJson(output.stdout, output.stderr);
  }
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function sum(...values: Array<number | undefined>): number | undefined {
  const known = values.filter((value): value is number => value !== undefined);
  return known.length === 0 ? undefined : Math.round(known.reduce((total, value) => total + value, 0));
}

function parseLastJsonObject(text: string): Json | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  try {
    const parsed: unknown = JSON.parse(trimmed);
    return isObject(parsed) ? parsed : null;
  } catch {
    // Some CLIs print a line or two before their JSON: take the last line that parses as an object.
    for (const line of trimmed.split("\n").reverse()) {
      try {
        const parsed: unknown = JSON.parse(line);
        if (isObject(parsed)) return parsed;
      } catch {
        // not JSON
      }
    }
    return null;
  }
}

// A summary is at least one character and at most what result.json allows.
function toSummary(text: string, fallback: string): string {
  const flat = text.trim();
  return (flat === "" ? fallback : flat).slice(0, 65_536);
}

/**
 * Claude Code's `--output-format json`: one `{"type":"result", …}` object. `is_error` (not
 * `subtype`, which stays "success") says it failed, with `api_error_status` for the API's answer.
 */
function readClaudeJson(stdout: string): CliVerdict {
  const json = parseLastJsonObject(stdout);
  if (json === null || json.type !== "result") {
    return { kind: "unreadable", reason: "Claude Code printed no result object (`--output-format json`)." };
  }
  const usage = isObject(json.usage) ? json.usage : {};
  const reported: AgentResult["usage"] = {
    inputTokens: sum(
      readNumber(usage.input_tokens),
      readNumber(usage.cache_creation_input_tokens),
      readNumber(usage.cache_read_input_tokens),
    ),
    outputTokens: sum(readNumber(usage.output_tokens)),
    costUsd: readNumber(json.total_cost_usd),
  };
  const text = typeof json.result === "string" ? json.result : "";
  if (json.is_error === true) {
    const status = readNumber(json.api_error_status) ?? null;
    return { kind: "model_error", status, message: toSummary(text, "Claude Code reported an error."), usage: reported };
  }
  const model = isObject(json.modelUsage) ? Object.keys(json.modelUsage)[0] : undefined;
  return {
    kind: "answered",
    result: {
      status: "success",
      summary: toSummary(text, "Claude Code finished without a final message."),
      ...(model ? { model } : {}),
      usage: reported,
    },
  };
}

/**
 * Codex's `exec --json`: JSONL events. The last `agent_message` is the answer, `turn.completed`
 * carries the usage (no cost), and `error` / `turn.failed` a failure, whose message names the
 * HTTP status when there was one ("unexpected status 401 Unauthorized: …").
 */
function readCodexJsonl(stdout: string): CliVerdict {
  const events: Json[] = [];
  for (const line of stdout.split("\n")) {
    try {
      const parsed: unknown = JSON.parse(line);
      if (isObject(parsed)) events.push(parsed);
    } catch {
      // stderr noise or a partial line
    }
  }
  if (events.length === 0) return { kind: "unreadable", reason: "Codex printed no JSON events (`exec --json`)." };
  let answer = "";
  let inputTokens: number | undefined;
  let outputTokens: number | undefined;
  let failure: string | null = null;
  for (const event of events) {
    const item = isObject(event.item) ? event.item : null;
    if (event.type === "item.completed" && item?.type === "agent_message" && typeof item.text === "string") {
      answer = item.text;
    }
    if (event.type === "turn.completed" && isObject(event.usage)) {
      inputTokens = sum(inputTokens, readNumber(event.usage.input_tokens));
      outputTokens = sum(outputTokens, readNumber(event.usage.output_tokens));
    }
    if (event.type === "error" && typeof event.message === "string") failure = event.message;
    if (event.type === "turn.failed" && isObject(event.error) && typeof event.error.message === "string") {
      failure = event.error.message;
    }
  }
  const usage: AgentResult["usage"] = { inputTokens, outputTokens };
  if (failure !== null) {
    const status = /\bstatus:? (\d{3})\b/i.exec(failure);
    return {
      kind: "model_error",
      status: status ? Number(status[1]) : null,
      message: toSummary(failure, "Codex failed."),
      usage,
    };
  }
  if (!events.some((event) => event.type === "turn.completed")) {
    return { kind: "unreadable", reason: "Codex never completed its turn." };
  }
  return {
    kind: "answered",
    result: { status: "success", summary: toSummary(answer, "Codex finished without a final message."), usage },
  };
}

/**
 * The Gemini CLI's `--output-format json`: `{response, stats}` on stdout; on failure nothing on
 * stdout and `{error: {message, code}}` on stderr (its exit code is then the status modulo 256).
 */
function readGeminiJson(stdout: string, stderr: string): CliVerdict {
  const json = parseLastJsonObject(stdout);
  const failed = json !== null && isObject(json.error) ? json : parseLastJsonObject(stderr);
  if ((json === null || !("response" in json)) && failed !== null && isObject(failed.error)) {
    const status = readNumber(failed.error.code) ?? null;
    const message =
      typeof failed.error.message === "string" ? failed.error.message : "The Gemini CLI reported an error.";
    return { kind: "model_error", status, message: toSummary(message, "The Gemini CLI reported an error.") };
  }
  if (json === null || typeof json.response !== "string") {
    return { kind: "unreadable", reason: "The Gemini CLI printed no response object (`--output-format json`)." };
  }
  const models = isObject(json.stats) && isObject(json.stats.models) ? json.stats.models : {};
  let inputTokens: number | undefined;
  let outputTokens: number | undefined;
  for (const stats of Object.values(models)) {
    const tokens = isObject(stats) && isObject(stats.tokens) ? stats.tokens : {};
    inputTokens = sum(inputTokens, readNumber(tokens.prompt));
    outputTokens = sum(outputTokens, readNumber(tokens.candidates), readNumber(tokens.thoughts));
  }
  const model = Object.keys(models)[0];
  return {
    kind: "answered",
    result: {
      status: "success",
      summary: toSummary(json.response, "The Gemini CLI finished without a final message."),
      ...(model ? { model } : {}),
      usage: { inputTokens, outputTokens },
    },
  };
}
