import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitTimeoutError, runGit } from "../../../src/agents/git.js";

describe("runGit's time limit", () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "foreman-git-"));
    await runGit({ cwd: dir }, ["init", "--quiet"]);
    await writeFile(join(dir, "a.txt"), "a\n");
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("kills a git blocked on a named pipe planted as .gitignore and says which command and limit", async () => {
    // git opens .gitignore to read it: with no writer on the pipe, open() never returns.
    execFileSync("mkfifo", [join(dir, ".gitignore")]);
    const error = await runGit({ cwd: dir }, ["add", "--all"], { timeoutMs: 200 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GitTimeoutError);
    expect(error).toMatchObject({
      command: "add",
      timeoutMs: 200,
      message: "git add did not finish within 0.2 seconds and was stopped",
    });
  });

  it("leaves a command that finishes alone", async () => {
    await runGit({ cwd: dir }, ["add", "--all"], { timeoutMs: 60_000 });
    const staged = await runGit({ cwd: dir }, ["diff", "--cached", "--name-only"], { timeoutMs: 60_000 });
    expect(staged.toString("utf8")).toBe("a.txt\n");
  });

  it("still reports git's own failure as git's stderr, not as a timeout", async () => {
    const error = await runGit({ cwd: dir }, ["rev-parse", "no-such-ref"], { timeoutMs: 60_000 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).not.toBeInstanceOf(GitTimeoutError);
    expect((error as Error).message).toMatch(/^git rev-parse failed: .*no-such-ref/s);
  });
});
