/**
 * A failed agent job's outcome and the words of its message: the failure before any log exists,
 * the runner's errors as outcomes, and the small sentence helpers the messages share.
 */
import { RunnerError } from "./errors.js";
import { AGENT_JOB_FAILURE_CODES as CODES, type AgentJobFailed } from "./job-outcome.js";

export function fail(code: AgentJobFailed["code"], message: string): AgentJobFailed {
  return { kind: "failed", code, message, logTail: "", log: null, run: null };
}

export function failFromRunner(error: unknown): AgentJobFailed {
  if (error instanceof RunnerError) return fail(error.code, error.message);
  return fail(CODES.INFRA_CONTAINER_FAILED, `The container engine failed: ${describe(error)}`);
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function isPermissionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "EACCES" || code === "EPERM";
}

// A message that may already end its sentence.
export function endSentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

// A list ends its paragraph: what follows it starts a new one.
export function appendSentence(message: string, sentence: string): string {
  if (sentence === "") return message;
  return `${message}${message.includes("\n") ? "\n\n" : " "}${sentence}`;
}
