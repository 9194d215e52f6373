/**
 * The pieces every step of the offline image build uses: progress lines, host commands with their
 * output kept in a log file, and failures that say which image, which step, and what to do.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";

/** A failed build step: the image, the step, what went wrong and what to do about it. */
export class BuildStepError extends Error {
  constructor(
    readonly image: string,
    readonly step: string,
    readonly reason: string,
    readonly hint: string,
  ) {
    super(`${image}: ${step} failed: ${reason}`);
    this.name = "BuildStepError";
  }
}

/** Prints one progress line of the build. */
export function logProgress(message: string): void {
  process.stdout.write(`[images] ${message}\n`);
}

/** Runs one step of one image's build; any failure becomes a `BuildStepError` naming both, with the hint. */
export async function runStep<T>(image: string, step: string, hint: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof BuildStepError) throw error;
    throw new BuildStepError(image, step, error instanceof Error ? error.message : String(error), hint);
  }
}

/** Where a host command runs and where its output goes. */
export interface CommandOptions {
  readonly logFile: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a host command without a shell, appending its stdout and stderr to `logFile`, and returns
 * its stdout. A non-zero exit throws with the last lines of the log.
 */
export async function runCommand(command: string, args: readonly string[], options: CommandOptions): Promise<string> {
  await mkdir(dirname(options.logFile), { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a" });
  log.write(`\n$ ${command} ${args.join(" ")}\n`);
  const stdout: Buffer[] = [];
  const outcome = await new Promise<{ code: number | null; signal: string | null; error?: Error }>((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (chunk: Buffer) => {
      stdout.push(chunk);
      log.write(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => log.write(chunk));
    child.on("error", (error) => resolve({ code: null, signal: null, error }));
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  await new Promise<void>((resolve) => log.end(resolve));
  if (outcome.error !== undefined) throw new Error(`could not run ${command}: ${outcome.error.message}`);
  if (outcome.code !== 0) {
    const tail = await readLogTail(options.logFile, 25);
    const how = outcome.signal !== null ? `was killed by ${outcome.signal}` : `exited with ${outcome.code}`;
    throw new Error(`${command} ${how}; last lines of ${options.logFile}:\n${tail}`);
  }
  return Buffer.concat(stdout).toString("utf8");
}

/** Reads the last lines of a log file (empty when it cannot be read). */
export async function readLogTail(path: string, lines: number): Promise<string> {
  const text = await readFile(path, "utf8").catch(() => "");
  return text
    .trimEnd()
    .split("\n")
    .slice(-lines)
    .map((line) => `    ${line}`)
    .join("\n");
}
