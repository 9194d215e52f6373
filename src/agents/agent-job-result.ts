/**
 * What an agent job's run answered: the CLI's machine-readable output (and the model API's
 * errors it names, with whose they are to fix), result.json or the CLI's last words, the
 * usage the CLI counted, and the result redacted before anything can reach GitHub.
 */
import { join } from "node:path";
import type { AgentResult } from "./agent-result.js";
import { readCliOutput, type CliVerdict } from "./cli-output.js";
import type { ExecutionLog } from "./execution-log.js";
import { AGENT_JOB_FAILURE_CODES as CODES, type AgentJobFailed } from "./job-outcome.js";
import type { ResolvedProfile } from "./profiles.js";
import type { Redactor } from "../logging/redact.js";
import { buildResultFromOutput, readFileSafely, readResult, type ReadResultOutcome } from "./result.js";
import type { PreparedWorkspace } from "./workspace.js";

// A CLI with a machine-readable output (outputFormat) is read from its output file and, for
// the errors some CLIs print there, its stderr. Null: the profile has no such output.
export async function readCliVerdict(
  workspace: PreparedWorkspace,
  profile: ResolvedProfile,
  log: ExecutionLog,
): Promise<CliVerdict | null> {
  if (profile.outputFormat === undefined || profile.outputFile === undefined) return null;
  const output = await readFileSafely(join(workspace.outDir, profile.outputFile), 4 * 1024 * 1024);
  const stdout = output.ok ? output.content.toString("utf8") : "";
  const stderr = log.entries
    .filter((entry) => entry.stream === "stderr")
    .map((entry) => entry.line)
    .join("\n");
  return readCliOutput(profile.outputFormat, { stdout, stderr });
}

// What a model API failure means, and whose it is: credentials and quotas are the operator's, an
// outage is temporary (the job is tried again), a refused request is the agent settings'.
export function describeModelError(
  profile: ResolvedProfile,
  status: number | null,
  said: string,
): { code: AgentJobFailed["code"]; message: string } {
  const answer = status === null ? "no answer" : `HTTP ${status}`;
  const quoted = said.replace(/\s+/g, " ").trim().slice(0, 500);
  const keys = profile.env.length > 0 ? profile.env.join(", ") : "its API key";
  if (status === 401 || status === 403) {
    return {
      code: CODES.MODEL_API_UNAUTHORIZED,
      message: `The model API refused the agent's credentials (${answer}: ${quoted}). This is for the operator to fix: the key Foreman gives profile "${profile.name}" (${keys} in the agent secrets) is missing, wrong or expired. Nothing was pushed.`,
    };
  }
  if (status === 429) {
    return {
      code: CODES.MODEL_API_RATE_LIMITED,
      message: `The model API is rate-limiting the agent (${answer}: ${quoted}). Foreman tries the step again later; if it keeps happening, the operator should raise the quota of the key behind ${keys}. Nothing was pushed.`,
    };
  }
  if (status === null || status >= 500) {
    return {
      code: CODES.MODEL_API_UNAVAILABLE,
      message: `The model API failed (${answer}: ${quoted}). This is usually temporary and Foreman tries the step again; if it persists, the operator should check the model API or its gateway. Nothing was pushed.`,
    };
  }
  return {
    code: CODES.MODEL_API_REJECTED,
    message: `The model API refused the agent's request (${answer}: ${quoted}). Check the agent settings of profile "${profile.name}" (its model, its gateway URL). Nothing was pushed.`,
  };
}

// A failed run still says what it spent, so the budgets and the evidence count it.
export function buildFailedResult(verdict: Extract<CliVerdict, { kind: "model_error" }>): AgentResult {
  return {
    status: "failure",
    summary: verdict.message.slice(0, 65_536) || "failed",
    ...(verdict.usage ? { usage: verdict.usage } : {}),
  };
}

// CLIs that cannot write result.json leave their last words in the profile's output file,
// under /foreman/out or (windsurfinabox) at the workspace root; one with a machine-readable
// output has been read already (`cli`).
export async function readAgentResult(
  workspace: PreparedWorkspace,
  profile: ResolvedProfile,
  cli: CliVerdict | null,
): Promise<ReadResultOutcome> {
  const read = await readResult(workspace.outDir);
  if (read.ok) return { ok: true, result: withCliAccounting(read.result, cli) };
  if (read.reason !== "missing" || profile.outputFile === undefined) return read;
  if (cli?.kind === "answered") return { ok: true, result: cli.result };
  if (cli?.kind === "unreadable") {
    return { ...read, message: `The agent exited without writing /foreman/out/result.json, and ${cli.reason}` };
  }
  for (const dir of [workspace.outDir, workspace.workspaceDir]) {
    const output = await readFileSafely(join(dir, profile.outputFile), 1024 * 1024);
    if (output.ok) return { ok: true, result: buildResultFromOutput(output.content.toString("utf8")) };
  }
  return {
    ...read,
    message: `The agent exited without writing /foreman/out/result.json or its output file ${profile.outputFile}.`,
  };
}

// The CLI counted what the model spent, so its usage and model are the record's: an agent's own
// result.json (a reviewer's review, a planner's plan) may not know them. What result.json says wins.
export function withCliAccounting(result: AgentResult, cli: CliVerdict | null): AgentResult {
  if (cli?.kind !== "answered") return result;
  const model = result.model ?? cli.result.model;
  const usage = cli.result.usage === undefined ? result.usage : { ...cli.result.usage, ...result.usage };
  return { ...result, ...(model === undefined ? {} : { model }), ...(usage === undefined ? {} : { usage }) };
}

export function redactResult(result: AgentResult, redact: Redactor): AgentResult {
  // Everything here may end up in a PR or comment: no secret the agent saw may reach it.
  return {
    ...result,
    summary: redact(result.summary),
    ...(result.title === undefined ? {} : { title: redact(result.title) }),
    ...(result.body === undefined ? {} : { body: redact(result.body) }),
    ...(result.review === undefined
      ? {}
      : {
          review: {
            body: redact(result.review.body),
            ...(result.review.comments === undefined
              ? {}
              : { comments: result.review.comments.map((comment) => ({ ...comment, body: redact(comment.body) })) }),
          },
        }),
  };
}
