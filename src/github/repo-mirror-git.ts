/**
 * git for the repository mirrors: run with nothing from the host's git config, no prompts, no
 * credential helper and HTTPS only, under a time limit, its errors redacted; `git archive` of a
 * commit as a stream that fails rather than ends short; and the Basic credential the
 * installation token becomes for one fetch's `http.extraHeader`.
 */
import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";

export function basicAuthOf(token: string): string {
  return Buffer.from(`x-access-token:${token}`).toString("base64");
}

// Nothing from the host's git config, no prompts, no credential helpers that could store the token.
const GIT_ENV: Readonly<Record<string, string>> = Object.freeze({
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/nonexistent",
  LC_ALL: "C",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_TERMINAL_PROMPT: "0",
});

const SAFE_CONFIG = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "credential.helper=",
  "protocol.allow=never",
  "protocol.https.allow=always",
  "protocol.http.allow=always",
].flatMap((setting) => ["-c", setting]);

export function runMirrorGit(
  args: readonly string[],
  options: { timeoutMs: number; env?: Record<string, string>; redact?: (text: string) => string; input?: string },
): Promise<Buffer> {
  const redact = options.redact ?? ((text: string) => text);
  return new Promise((resolve, reject) => {
    const child = spawn("git", [...SAFE_CONFIG, ...args], {
      env: { ...GIT_ENV, ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString("utf8");
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(new Error(redact(`git ${subcommandOf(args)} could not start: ${error.message}`)));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (timedOut)
        reject(new Error(`git ${subcommandOf(args)} did not finish within ${options.timeoutMs / 1000} seconds`));
      else if (code !== 0)
        reject(new Error(redact(`git ${subcommandOf(args)} failed: ${stderr.trim() || `exit code ${code}`}`)));
      else resolve(Buffer.concat(out));
    });
  });
}

function subcommandOf(args: readonly string[]): string {
  let index = 0;
  while (args[index]?.startsWith("-")) index += args[index] === "--git-dir" || args[index] === "-c" ? 2 : 1;
  return args[index] ?? "";
}

// The archive ends only once git exited 0: a truncated tar from a failed git is an error, never a short workspace.
export function spawnArchive(gitDir: string, commit: string, timeoutMs: number, onFailure: () => void): Readable {
  const child = spawn(
    "git",
    [...SAFE_CONFIG, "--git-dir", gitDir, "archive", "--format=tar", "--prefix=repo/", commit],
    {
      env: GIT_ENV,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const archive = new PassThrough();
  child.stdout.pipe(archive, { end: false });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString("utf8");
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  child.on("error", (error) => archive.destroy(error));
  child.on("close", (code, signal) => {
    clearTimeout(timer);
    if (code === 0) {
      archive.end();
      return;
    }
    const why = signal !== null ? `stopped (${signal})` : stderr.trim() || `exit code ${code}`;
    archive.destroy(new Error(`git archive of the repository mirror failed: ${why}`));
    if (signal === null) onFailure();
  });
  // A reader that gives up stops git.
  archive.once("close", () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return archive;
}
