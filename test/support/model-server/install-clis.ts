import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The pinned CLIs are those of the agent images (`scripts/agents/<cli>/package.json` and
 * `package-lock.json`): one place pins each version, for the images and for these tests.
 */
const AGENTS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "scripts", "agents");
const CLI_FOLDERS = { claude: "claude-code", codex: "codex", gemini: "gemini-cli" } as const;

/** Where the installed CLIs are, and which versions the lock file pins. */
export interface AgentClis {
  /** Claude Code's native binary. */
  claude: string;
  /** The Codex CLI (its Node launcher, which runs the native binary). */
  codex: string;
  /** The Gemini CLI (a Node script). */
  gemini: string;
  /** The installation folder (its node_modules holds the packages). */
  dir: string;
  versions: { claude: string; codex: string; gemini: string };
}

/**
 * Installs the pinned agent CLIs with `npm ci` into a cache folder named after the lock file's hash
 * (`FOREMAN_CLI_CACHE`, default the system's temporary folder), once; later calls reuse it. Throws
 * with npm's output when the installation fails (the tests then fail, never skip).
 */
export async function installAgentClis(): Promise<AgentClis> {
  const locks = await Promise.all(
    Object.values(CLI_FOLDERS).map((folder) => readFile(path.join(AGENTS_DIR, folder, "package-lock.json"))),
  );
  const hash = createHash("sha256").update(Buffer.concat(locks)).digest("hex").slice(0, 16);
  const cacheRoot = process.env.FOREMAN_CLI_CACHE ?? path.join(os.tmpdir(), "foreman-model-server-clis");
  const dir = path.join(cacheRoot, hash);
  if (!existsSync(path.join(dir, ".installed"))) await installInto(dir, cacheRoot);
  const version = async (folder: string, name: string) =>
    (
      JSON.parse(await readFile(path.join(AGENTS_DIR, folder, "package.json"), "utf8")) as {
        dependencies: Record<string, string>;
      }
    ).dependencies[name] ?? "?";
  const clis: AgentClis = {
    claude: claudeBinary(path.join(dir, CLI_FOLDERS.claude)),
    codex: path.join(dir, CLI_FOLDERS.codex, "node_modules", ".bin", "codex"),
    gemini: path.join(dir, CLI_FOLDERS.gemini, "node_modules", ".bin", "gemini"),
    dir,
    versions: {
      claude: await version(CLI_FOLDERS.claude, "@anthropic-ai/claude-code"),
      codex: await version(CLI_FOLDERS.codex, "@openai/codex"),
      gemini: await version(CLI_FOLDERS.gemini, "@google/gemini-cli"),
    },
  };
  for (const [name, file] of Object.entries({ claude: clis.claude, codex: clis.codex, gemini: clis.gemini })) {
    if (!existsSync(file)) {
      throw new Error(`the ${name} CLI is missing from ${dir} (${file}); delete that folder to reinstall it`);
    }
  }
  return clis;
}

/** Runs `npm ci` in a fresh folder beside `dir`, then renames it into place (parallel files race safely). */
async function installInto(dir: string, cacheRoot: string): Promise<void> {
  await mkdir(cacheRoot, { recursive: true });
  const staging = await mkdtemp(path.join(cacheRoot, "staging-"));
  try {
    for (const folder of Object.values(CLI_FOLDERS)) {
      const target = path.join(staging, folder);
      await mkdir(target);
      await copyFile(path.join(AGENTS_DIR, folder, "package.json"), path.join(target, "package.json"));
      await copyFile(path.join(AGENTS_DIR, folder, "package-lock.json"), path.join(target, "package-lock.json"));
      // --ignore-scripts: Claude Code's postinstall only copies its native binary over a stub; we run
      // the platform package's binary directly (claudeBinary). Gemini's optional native modules
      // (node-pty, keytar) are not needed headless.
      const { code, output } = await runNpm(["ci", "--ignore-scripts", "--no-audit", "--no-fund"], target);
      if (code !== 0) {
        throw new Error(
          `could not install the agent CLI from ${path.join(AGENTS_DIR, folder, "package-lock.json")} ` +
            `(npm ci exited ${code}); the model-server tests need the npm registry:\n${output.slice(-4000)}`,
        );
      }
    }
    await writeFile(path.join(staging, ".installed"), new Date().toISOString());
    // mkdtemp makes the folder 0700; the CLIs run as another user.
    await chmod(staging, 0o755);
    try {
      await rename(staging, dir);
    } catch (error) {
      // Another test file finished first: use its copy.
      if (!existsSync(path.join(dir, ".installed"))) throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The native Claude Code binary for this platform (the package's bin/claude.exe is a stub until postinstall). */
function claudeBinary(dir: string): string {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const musl = process.platform === "linux" && report.header?.glibcVersionRuntime === undefined;
  const suffix = `${process.platform}-${process.arch}${musl ? "-musl" : ""}`;
  return path.join(dir, "node_modules", "@anthropic-ai", `claude-code-${suffix}`, "claude");
}

function runNpm(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("npm", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", (error) => resolve({ code: -1, output: `${output}\n${error.message}` }));
    child.on("close", (code) => resolve({ code: code ?? -1, output }));
  });
}
