import type { AgentClis } from "./install-clis.js";

/** A command line for one CLI run against the model server: what to run, with which environment. */
export interface AgentCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

/** The model Claude Code is told to use (a known one, so it prices the usage). */
export const CLAUDE_MODEL = "claude-sonnet-4-5";
/** The model Codex is told to use (one whose metadata gives it the freeform apply_patch tool). */
export const CODEX_MODEL = "gpt-5.5";
/** The model the Gemini CLI is told to use. */
export const GEMINI_MODEL = "gemini-2.5-flash";

/**
 * Claude Code, headless (`-p`, JSON result) against `baseUrl`, no nonessential traffic, no retries
 * unless `maxRetries` says so.
 */
export function claudeCommand(
  clis: AgentClis,
  baseUrl: string,
  prompt: string,
  options: { maxRetries?: number } = {},
): AgentCommand {
  return {
    command: clis.claude,
    args: ["-p", prompt, "--dangerously-skip-permissions", "--output-format", "json", "--model", CLAUDE_MODEL],
    env: {
      ANTHROPIC_BASE_URL: baseUrl,
      ANTHROPIC_API_KEY: "sk-ant-model-server-test",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      DISABLE_AUTOUPDATER: "1",
      DISABLE_TELEMETRY: "1",
      DISABLE_ERROR_REPORTING: "1",
      CLAUDE_CODE_MAX_RETRIES: String(options.maxRetries ?? 0),
    },
  };
}

/**
 * Codex, headless (`exec --json`, JSONL events) with a custom model provider pointing at `baseUrl`
 * (OPENAI_BASE_URL is not read by this version), sandbox and approvals off, no retries.
 */
export function codexCommand(clis: AgentClis, baseUrl: string, prompt: string): AgentCommand {
  const provider = (key: string, value: string) => ["-c", `model_providers.model-server.${key}=${value}`];
  return {
    command: clis.codex,
    args: [
      "exec",
      "--json",
      "--skip-git-repo-check",
      "--dangerously-bypass-approvals-and-sandbox",
      "-m",
      CODEX_MODEL,
      "-c",
      "model_provider=model-server",
      ...provider("name", "model-server"),
      ...provider("base_url", `${baseUrl}/v1`),
      ...provider("wire_api", "responses"),
      ...provider("env_key", "OPENAI_API_KEY"),
      ...provider("request_max_retries", "0"),
      ...provider("stream_max_retries", "0"),
      "-c",
      "analytics.enabled=false",
      "-c",
      "feedback.enabled=false",
      "-c",
      "check_for_update_on_startup=false",
      prompt,
    ],
    env: { OPENAI_API_KEY: "sk-model-server-test" },
  };
}

/**
 * The files the Gemini CLI needs in its HOME: the auth type, the telemetry and update switches and
 * the attempts per model request (`general.maxAttempts`, default 1: no retries) in
 * `.gemini/settings.json`; pass them to createCliWorkspace.
 */
export function geminiHomeFiles(options: { maxAttempts?: number } = {}): Record<string, string> {
  const settings = {
    security: { auth: { selectedType: "gemini-api-key" } },
    privacy: { usageStatisticsEnabled: false },
    telemetry: { enabled: false },
    general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, maxAttempts: options.maxAttempts ?? 1 },
  };
  return { ".gemini/settings.json": JSON.stringify(settings, null, 2) };
}

/**
 * The Gemini CLI, headless (`-p`, `--yolo`, JSON output) against `baseUrl` with an API key. With
 * `model: null` it keeps its default ("auto"), which first asks a small model to route the prompt.
 */
export function geminiCommand(
  clis: AgentClis,
  baseUrl: string,
  prompt: string,
  options: { model?: string | null } = {},
): AgentCommand {
  const model = options.model === undefined ? GEMINI_MODEL : options.model;
  return {
    command: clis.gemini,
    args: ["-p", prompt, "--yolo", "--output-format", "json", ...(model === null ? [] : ["--model", model])],
    env: {
      GEMINI_API_KEY: "gm-model-server-test",
      GOOGLE_GEMINI_BASE_URL: baseUrl,
      GEMINI_CLI_TRUST_WORKSPACE: "true",
      GEMINI_CLI_NO_RELAUNCH: "true",
    },
  };
}
