import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chown, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * The user the CLIs run as when the tests run as root (Claude Code refuses
 * --dangerously-skip-permissions as root): Debian's `nobody`/`nogroup`.
 */
export const CLI_USER = { uid: 65534, gid: 65534 };

/** A temporary git repository and HOME for one CLI run, owned by the user the CLI runs as. */
export interface CliWorkspace {
  /** The repository (the CLI's working directory). */
  repo: string;
  /** The CLI's HOME. */
  home: string;
  /** Lists the repository's files (without .git), sorted. */
  files(): Promise<string[]>;
  /** Removes both folders. */
  remove(): Promise<void>;
}

/** Creates a git repository holding `files` (one commit) and a HOME holding `homeFiles`, for the CLI's user. */
export async function createCliWorkspace(
  files: Record<string, string>,
  homeFiles: Record<string, string> = {},
): Promise<CliWorkspace> {
  const root = await mkdtemp(path.join(os.tmpdir(), "foreman-modeltest-"));
  const repo = path.join(root, "repo");
  const home = path.join(root, "home");
  await mkdir(repo);
  await mkdir(home);
  await writeFiles(repo, files);
  await writeFiles(home, homeFiles);
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=Foreman Test", "-c", "user.email=test@foreman.invalid", ...args], {
      cwd: repo,
      stdio: "pipe",
    });
  git("init", "-q", "-b", "main");
  git("add", "-A");
  git("commit", "-q", "-m", "initial");
  if (isRoot()) await chownTree(root);
  return {
    repo,
    home,
    files: async () => {
      const entries = await readdir(repo, { recursive: true, withFileTypes: true });
      return entries
        .filter((entry) => entry.isFile())
        .map((entry) => path.relative(repo, path.join(entry.parentPath, entry.name)))
        .filter((name) => !name.startsWith(".git/") && !name.startsWith(`.git${path.sep}`))
        .sort();
    },
    remove: () => rm(root, { recursive: true, force: true }),
  };
}

/** A CLI run: its process, what it printed so far, and how it ended. */
export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (code, or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True until the process has exited. */
  running(): boolean;
}

/**
 * Starts a CLI in the workspace with exactly `env` (plus PATH, HOME and LANG; nothing inherited
 * from the test process), as CLI_USER when the tests run as root, stdin closed.
 */
export function startCli(
  command: string,
  args: string[],
  workspace: CliWorkspace,
  env: Record<string, string>,
): CliRun {
  const fullEnv = {
    PATH: [path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
    HOME: workspace.home,
    LANG: "C.UTF-8",
    ...env,
  };
  const [file, argv] = isRoot()
    ? ["setpriv", [`--reuid=${CLI_USER.uid}`, `--regid=${CLI_USER.gid}`, "--clear-groups", "--", command, ...args]]
    : [command, args];
  const child = spawn(file, argv as string[], { cwd: workspace.repo, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let done = false;
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, exited, running: () => !done };
}

/** Runs a CLI to its end (see startCli). */
export async function runCli(
  command: string,
  args: string[],
  workspace: CliWorkspace,
  env: Record<string, string>,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const run = startCli(command, args, workspace, env);
  const { code, signal } = await run.exited;
  return { code, signal, stdout: run.stdout(), stderr: run.stderr() };
}

async function writeFiles(dir: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

async function chownTree(dir: string): Promise<void> {
  await chown(dir, CLI_USER.uid, CLI_USER.gid);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    await chown(path.join(entry.parentPath, entry.name), CLI_USER.uid, CLI_USER.gid);
  }
}
