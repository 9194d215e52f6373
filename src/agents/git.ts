/**
 * Runs git on the host for a job's workspace: no shell, an explicit environment, config that
 * ignores anything the agent could have planted (hooks, fsmonitor, global config), and a time
 * limit (HOST_COMMAND_TIMEOUT_SECONDS): a huge file, or a named pipe where git expects a
 * `.gitignore`, must not hold the host forever.
 */
import { execFile, spawn } from "node:child_process";

/** Where git keeps the repository and which directory is its work tree. */
export interface GitContext {
  readonly gitDir: string;
  readonly workTree: string;
}

/** Identity of the workspace's base commit (never pushed: GitHub commits are made by the API). */
export const FOREMAN_GIT_IDENTITY = Object.freeze({ name: "Foreman", email: "foreman@localhost" });

// Nothing from the host user's or system's git config, no prompts, stable output.
const GIT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/nonexistent",
  LC_ALL: "C",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
  GIT_AUTHOR_NAME: FOREMAN_GIT_IDENTITY.name,
  GIT_AUTHOR_EMAIL: FOREMAN_GIT_IDENTITY.email,
  GIT_COMMITTER_NAME: FOREMAN_GIT_IDENTITY.name,
  GIT_COMMITTER_EMAIL: FOREMAN_GIT_IDENTITY.email,
});

// Command-line config wins over the repository's own: an agent can write .git/config in the
// workspace, and e.g. core.fsmonitor would make the host run its command.
const SAFE_CONFIG = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "core.autocrlf=false",
  "core.symlinks=true",
  "core.fileMode=true",
  "core.quotePath=false",
  "commit.gpgSign=false",
  // The work tree belongs to the sandbox user, not to us: git would otherwise refuse it.
  "safe.directory=*",
].flatMap((setting) => ["-c", setting]);

/** How long one host-side git command may run by default (HOST_COMMAND_TIMEOUT_SECONDS: 300). */
export const DEFAULT_HOST_COMMAND_TIMEOUT_MS = 300_000;

/** A git command that ran past its time limit and was killed. */
export class GitTimeoutError extends Error {
  /** The git subcommand, e.g. "add". */
  readonly command: string;
  readonly timeoutMs: number;

  constructor(command: string, timeoutMs: number) {
    super(`git ${command} did not finish within ${formatSeconds(timeoutMs)} and was stopped`);
    this.name = "GitTimeoutError";
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/** Options of one git command. */
export interface RunGitOptions {
  readonly input?: Buffer | string;
  readonly maxBuffer?: number;
  /** Kill git (SIGKILL) after this long and reject with GitTimeoutError (default DEFAULT_HOST_COMMAND_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

/** Runs `git <args>` against a repository and returns stdout; rejects with git's stderr on failure, GitTimeoutError when too slow. */
export function runGit(
  context: GitContext | { readonly cwd: string },
  args: readonly string[],
  options: RunGitOptions = {},
): Promise<Buffer> {
  const location = "cwd" in context ? [] : ["--git-dir", context.gitDir, "--work-tree", context.workTree];
  const cwd = "cwd" in context ? context.cwd : context.workTree;
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOST_COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const child = execFile(
      "git",
      [...SAFE_CONFIG, ...location, ...args],
      { cwd, env: GIT_ENV, encoding: "buffer", maxBuffer: options.maxBuffer ?? 256 * 1024 * 1024 },
      (error, stdout, stderr) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(new GitTimeoutError(subcommandOf(args), timeoutMs));
        } else if (error !== null) {
          reject(
            new Error(`git ${subcommandOf(args)} failed: ${stderr.toString("utf8").trim() || error.message}`, {
              cause: error,
            }),
          );
        } else {
          resolve(stdout);
        }
      },
    );
    // SIGKILL: git blocked in open() on a named pipe does not answer SIGTERM any sooner.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    // A git command that exits before reading stdin closes the pipe; its exit status tells the story.
    child.stdin?.on("error", () => undefined);
    if (options.input === undefined) child.stdin?.end();
    else child.stdin?.end(options.input);
  });
}

// The git subcommand for messages: past any leading `-c name=value` pairs.
function subcommandOf(args: readonly string[]): string {
  let index = 0;
  while (args[index] === "-c") index += 2;
  return args[index] ?? "";
}

function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)} second${seconds === 1 ? "" : "s"}`;
}

/** Git wrote more than the caller allowed: the command was stopped, nothing of its output is kept. */
export class GitOutputTooLargeError extends Error {
  /** The allowance that was exceeded, in bytes. */
  readonly maxBytes: number;
  constructor(command: string, maxBytes: number) {
    super(`git ${command} wrote more than ${maxBytes} bytes`);
    this.name = "GitOutputTooLargeError";
    this.maxBytes = maxBytes;
  }
}

/**
 * Runs `git <args>` and collects stdout as a stream, up to `maxBytes`: beyond that the command is
 * killed and the promise rejects with `GitOutputTooLargeError` (no buffer overflow, no half output);
 * past `timeoutMs` (default DEFAULT_HOST_COMMAND_TIMEOUT_MS) with `GitTimeoutError`.
 */
export function streamGit(
  context: GitContext,
  args: readonly string[],
  options: { input?: Buffer | string; maxBytes: number; timeoutMs?: number },
): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_HOST_COMMAND_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(
      "git",
      [...SAFE_CONFIG, "--git-dir", context.gitDir, "--work-tree", context.workTree, ...args],
      {
        cwd: context.workTree,
        env: GIT_ENV,
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = "";
    let tooLarge = false;
    let timedOut = false;
    child.stdout.on("data", (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > options.maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        child.kill("SIGKILL");
        return;
      }
      chunks.push(chunk);
    });
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // SIGKILL: git blocked in open() on a named pipe does not answer SIGTERM any sooner.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new GitTimeoutError(subcommandOf(args), timeoutMs));
      else if (tooLarge) reject(new GitOutputTooLargeError(subcommandOf(args), options.maxBytes));
      else if (code !== 0)
        reject(new Error(`git ${subcommandOf(args)} failed: ${stderr.trim() || `exit code ${code}`}`));
      else resolve(Buffer.concat(chunks, size));
    });
    child.stdin.on("error", () => undefined);
    if (options.input === undefined) child.stdin.end();
    else child.stdin.end(options.input);
  });
}
