/**
 * Reads the agent's `result.json` from the job's out directory. The directory is writable by
 * the agent, so the file is opened without following symlinks and never read past a cap.
 */
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { AgentResult } from "./agent-result.js";
import type { JobFailureCode } from "../workflow/job-failure.js";

/** Why a result could not be used. */
export type ResultProblem = "missing" | "not_a_file" | "too_large" | "invalid_json" | "schema_mismatch";

/** A parsed result, or the reason there is none. */
export type ReadResultOutcome =
  | { readonly ok: true; readonly result: AgentResult }
  | {
      readonly ok: false;
      readonly code: Extract<JobFailureCode, "RESULT_MISSING" | "RESULT_INVALID">;
      readonly reason: ResultProblem;
      readonly message: string;
    };

/** Largest result.json Foreman reads. */
export const RESULT_MAX_BYTES = 256 * 1024;

/** Outcome of reading a file the agent may have tampered with. */
export type SafeReadOutcome =
  | { readonly ok: true; readonly content: Buffer }
  | { readonly ok: false; readonly reason: "missing" | "not_a_file" | "too_large"; readonly size?: number };

/** Reads a regular file without following a symlink, refusing anything over `maxBytes`. */
export async function readFileSafely(path: string, maxBytes: number): Promise<SafeReadOutcome> {
  let handle;
  try {
    // O_NOFOLLOW: a symlink to /etc/shadow must not be read by the host. O_NONBLOCK: a FIFO must not hang us.
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { ok: false, reason: "missing" };
    if (code === "ELOOP" || code === "EISDIR" || code === "ENXIO") return { ok: false, reason: "not_a_file" };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) return { ok: false, reason: "not_a_file" };
    if (stats.size > maxBytes) return { ok: false, reason: "too_large", size: stats.size };
    const buffer = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes + 1, 0);
    // The file may grow between stat and read; the cap holds either way.
    if (bytesRead > maxBytes) return { ok: false, reason: "too_large", size: bytesRead };
    return { ok: true, content: buffer.subarray(0, bytesRead) };
  } finally {
    await handle.close();
  }
}

/** Reads and validates `result.json` in the job's out directory. */
export async function readResult(outDir: string, options: { maxBytes?: number } = {}): Promise<ReadResultOutcome> {
  const maxBytes = options.maxBytes ?? RESULT_MAX_BYTES;
  const file = await readFileSafely(join(outDir, "result.json"), maxBytes);
  if (!file.ok) {
    switch (file.reason) {
      case "missing":
        return problem("RESULT_MISSING", "missing", "The agent exited without writing /foreman/out/result.json.");
      case "not_a_file":
        return problem(
          "RESULT_INVALID",
          "not_a_file",
          "/foreman/out/result.json is not a regular file (a symlink, directory or pipe); it was not read.",
        );
      case "too_large":
        return problem(
          "RESULT_INVALID",
          "too_large",
          `/foreman/out/result.json is ${file.size ?? "over"} bytes; the limit is ${maxBytes} bytes.`,
        );
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(file.content.toString("utf8"));
  } catch (error) {
    return problem(
      "RESULT_INVALID",
      "invalid_json",
      `/foreman/out/result.json is not valid JSON: ${(error as Error).message}.`,
    );
  }
  const parsed = AgentResult.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`);
    return problem(
      "RESULT_INVALID",
      "schema_mismatch",
      `/foreman/out/result.json does not match the result schema: ${issues.join("; ")}.`,
    );
  }
  return { ok: true, result: parsed.data };
}

/** Builds a success result from an agent CLI's output file, for CLIs that cannot write result.json. */
export function buildResultFromOutput(output: string, maxChars = 8_000): AgentResult {
  const text = output.trim();
  // The end of a CLI transcript is where it says what it did.
  const summary = text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
  return { status: "success", summary: summary === "" ? "The agent finished without a summary." : summary };
}

function problem(
  code: Extract<JobFailureCode, "RESULT_MISSING" | "RESULT_INVALID">,
  reason: ResultProblem,
  message: string,
): ReadResultOutcome {
  return { ok: false, code, reason, message };
}
