import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";

const run = promisify(execFile);
const root = new URL("../../../", import.meta.url).pathname;

/** Run a command from the repository root; the result whatever the exit code. */
async function runFromRepo(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = root,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: { ...process.env, ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("the foreman command after npm ci, without a build", () => {
  test("package.json's bin is the launcher, which exists and is executable", async () => {
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      bin: Record<string, string>;
      dependencies: Record<string, string>;
    };
    expect(manifest.bin).toEqual({ foreman: "bin/foreman.js" });
    // The launcher's fallback loads TypeScript at runtime: tsx must be installed in production too.
    expect(Object.keys(manifest.dependencies)).toContain("tsx");
    const launcher = await readFile(join(root, "bin/foreman.js"), "utf8");
    expect(launcher.startsWith("#!/usr/bin/env node\n")).toBe(true);
  });

  test("npx foreman help lists every command", async () => {
    const result = await runFromRepo("npx", ["--offline", "foreman", "help"], { FOREMAN_FROM_SOURCE: "1" });
    expect(result.code).toBe(0);
    const commands = [...result.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((match) => match[1]);
    expect(commands).toEqual([
      "serve",
      "migrate",
      "verify",
      "tokens",
      "keys",
      "checkpoint",
      "pause",
      "resume",
      "tasks",
      "settings",
      "doctor",
      "templates",
    ]);
  });

  test("an unknown command exits 2 with the usage on stderr", async () => {
    const result = await runFromRepo("node", ["bin/foreman.js", "frobnicate"], { FOREMAN_FROM_SOURCE: "1" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Unknown command "frobnicate".');
    expect(result.stderr).toContain("Usage: foreman <command>");
  });

  test("with dist/ built, the launcher runs the compiled CLI (the production image's layout)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "foreman-launcher-"));
    try {
      await mkdir(join(dir, "bin"));
      await cp(join(root, "bin/foreman.js"), join(dir, "bin/foreman.js"));
      await mkdir(join(dir, "dist/cli"), { recursive: true });
      await writeFile(join(dir, "dist/cli/main.js"), 'console.log("compiled", process.argv.slice(2).join(" "));\n');
      await writeFile(join(dir, "package.json"), '{"type":"module"}\n');
      await symlink(join(root, "node_modules"), join(dir, "node_modules"));
      const result = await runFromRepo("node", ["bin/foreman.js", "doctor"], {}, dir);
      expect(result).toEqual({ code: 0, stdout: "compiled doctor\n", stderr: "" });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the production image still builds dist/ and runs dist/cli/main.js, where tsc puts src/cli/main.ts", async () => {
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    expect(dockerfile).toContain("RUN npm run build");
    expect(dockerfile).toContain('CMD ["node", "dist/cli/main.js", "serve"]');
    expect(dockerfile).toContain("COPY bin ./bin");
    const build = JSON.parse(await readFile(join(root, "tsconfig.build.json"), "utf8")) as {
      compilerOptions: { rootDir: string; outDir: string };
    };
    expect(build.compilerOptions).toMatchObject({ rootDir: "src", outDir: "dist" });
    const readme = await readFile(join(root, "README.md"), "utf8");
    expect(readme).toContain("npx foreman <command>");
  });
});
