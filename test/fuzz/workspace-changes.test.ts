import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { chmod, cp, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { collectChanges } from "../../src/agents/collect-changes.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES } from "../../src/agents/guardrails.js";
import { prepareWorkspace, type PreparedWorkspace } from "../../src/agents/workspace.js";
import { buildRepoTarball } from "../integration/agents/repo-tarball.js";
import { checkAsyncProperty } from "./fuzz-settings.js";

// What an agent leaves in /workspace is arbitrary: odd names (unicode, `..`, case twins),
// symlinks and chains of them, modes, nested and empty repositories. Collecting the diff and
// checking it gives a verdict (accepted, or violations with reasons), never an error that would
// count as Foreman's own trouble (INFRA_COLLECT_FAILED).

// Names an agent might use: traversal, case and normalisation twins, control and bidi characters,
// Git's own names, protected paths, glob characters.
const SEGMENTS = [
  "a",
  "A",
  "src",
  "README.md",
  "readme.md",
  "README.MD",
  "..",
  ".",
  "...",
  ".git",
  ".GIT",
  ".gitignore",
  ".gitmodules",
  ".github",
  "workflows",
  "ci.yml",
  "CODEOWNERS",
  "foreman.yml",
  "é",
  "e\u0301",
  "ß",
  "ﬁ",
  "\u202e",
  "\u200b",
  " ",
  " lead",
  "trail ",
  "-x",
  "*",
  "?",
  "[a]",
  "#",
  "a\\b",
  "new\nline",
  "tab\t",
  "😀",
  "x".repeat(200),
];

const path = fc
  .array(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...SEGMENTS) }, fc.string({ minLength: 1, maxLength: 8 })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((segments) => segments.join("/"));

const content = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.constant("token = ghp_0123456789abcdefghijklmnopqrstuvwxyzAB\n"),
  fc.constant(""),
);

/** One thing the agent does to its workspace; it may fail (a missing directory), as the agent's would. */
type Operation =
  | { kind: "write"; path: string; content: string | Buffer }
  | { kind: "mkdir"; path: string }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "delete"; path: string }
  | { kind: "chmod"; path: string; mode: number }
  | { kind: "nested-repo"; path: string; commit: boolean }
  | { kind: "fifo"; path: string };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("write" as const), path, content }) },
  fc.record({ kind: fc.constant("mkdir" as const), path }),
  fc.record({
    kind: fc.constant("symlink" as const),
    path,
    target: fc.oneof(path, fc.constantFrom("/etc/passwd", "../../git/config", "../..", ".", "/", "a/../../..")),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    path: fc.oneof(path, fc.constantFrom("README.md", "src/main.ts")),
  }),
  fc.record({
    kind: fc.constant("chmod" as const),
    path: fc.oneof(path, fc.constantFrom("README.md", "src/main.ts", "run.sh")),
    mode: fc.constantFrom(0o644, 0o755, 0o000, 0o4755, 0o777, 0o600),
  }),
  fc.record({ kind: fc.constant("nested-repo" as const), path, commit: fc.boolean() }),
  fc.record({ kind: fc.constant("fifo" as const), path }),
);

let baseDir: string;
let template: PreparedWorkspace;
let runs = 0;

beforeAll(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "foreman-fuzz-ws-"));
  template = await prepareWorkspace({
    baseDir,
    jobId: "template",
    tarball: await buildRepoTarball({
      "README.md": "# Widgets\n",
      "src/main.ts": "export const x = 1;\n",
      "run.sh": { content: "#!/bin/sh\necho hi\n", executable: true },
      "docs/link.md": { symlink: "../README.md" },
    }),
    prompt: "Do the thing.",
    context: {},
    sandboxUser: { uid: 65534, gid: 65534 },
    now: new Date(0),
  });
});
afterAll(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

/** A copy of the prepared template: the same base commit, a fresh job directory. */
async function copyTemplate(): Promise<{ workspaceDir: string; gitDir: string }> {
  const jobDir = join(baseDir, `job-${(runs += 1)}`);
  await cp(template.jobDir, jobDir, { recursive: true, verbatimSymlinks: true });
  return { workspaceDir: join(jobDir, "workspace"), gitDir: join(jobDir, "git") };
}

async function apply(workspaceDir: string, op: Operation): Promise<void> {
  const target = resolve(workspaceDir, op.path);
  // The agent is confined to /workspace: what would land outside it is not its to do.
  if (relative(workspaceDir, target).startsWith("..") || target === workspaceDir) return;
  try {
    switch (op.kind) {
      case "write":
        await writeFile(target, op.content);
        break;
      case "mkdir":
        await mkdir(target, { recursive: true });
        break;
      case "symlink":
        await symlink(op.target, target);
        break;
      case "delete":
        await unlink(target);
        break;
      case "chmod":
        await chmod(target, op.mode);
        break;
      case "nested-repo":
        await mkdir(target, { recursive: true });
        execFileSync("git", ["init", "--quiet", target], { stdio: "ignore" });
        if (op.commit) {
          await writeFile(join(target, "inner.txt"), "inner\n");
          execFileSync(
            "git",
            [
              "-C",
              target,
              "-c",
              "user.name=a",
              "-c",
              "user.email=a@b",
              "commit",
              "--quiet",
              "--allow-empty",
              "-m",
              "x",
            ],
            { stdio: "ignore" },
          );
        }
        break;
      case "fifo":
        execFileSync("mkfifo", [target], { stdio: "ignore" });
        break;
    }
  } catch {
    // ENOENT, ENOTDIR, EEXIST…: the agent's attempt failed, as it would in the container.
  }
}

describe("collecting and checking an arbitrary workspace", () => {
  test("untouched, the template has no changes and passes", async () => {
    const workspace = await copyTemplate();
    const collected = await collectChanges(workspace);
    expect(collected).toMatchObject({ changes: [], unsupported: [], baseFileCount: 4 });
    expect(checkChanges(collected.changes, DEFAULT_GUARDRAIL_RULES, collected)).toEqual({ ok: true });
  });

  test("an empty nested repository and a name Git refuses are reported and refused, and the rest is still collected", async () => {
    const workspace = await copyTemplate();
    await apply(workspace.workspaceDir, { kind: "nested-repo", path: "vendor/lib", commit: false });
    await apply(workspace.workspaceDir, { kind: "write", path: ".GIT", content: "x" });
    await apply(workspace.workspaceDir, { kind: "write", path: "NEW.md", content: "new\n" });
    const collected = await collectChanges(workspace);
    expect(collected.changes.map((change) => change.path)).toEqual(["NEW.md"]);
    expect(collected.unsupported).toEqual([
      {
        path: ".GIT",
        reason: "a name Git refuses (such as .GIT or .git. in any case, which checkouts would treat as .git)",
      },
      { path: "vendor/lib", reason: "a nested git repository (submodule); Foreman only pushes files" },
    ]);
    const verdict = checkChanges(collected.changes, DEFAULT_GUARDRAIL_RULES, collected);
    expect(verdict.ok || verdict.violations.map((violation) => violation.rule)).toEqual([
      "unsupported_entry",
      "unsupported_entry",
    ]);
  });

  test("any sequence of changes is collected and gets a verdict: accepted, or refused with reasons", async () => {
    await checkAsyncProperty(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 8 }), async (operations) => {
        const workspace = await copyTemplate();
        for (const op of operations) await apply(workspace.workspaceDir, op);
        const collected = await collectChanges(workspace);
        for (const change of collected.changes) {
          // What could be pushed: relative paths inside the repository, never in a Git directory.
          expect(change.path).not.toMatch(/^\/|(^|\/)\.\.(\/|$)/);
          expect(change.path.split("/").map((segment) => segment.toLowerCase())).not.toContain(".git");
        }
        for (const entry of collected.unsupported) expect(entry.reason).toMatch(/\S/);
        const verdict = checkChanges(collected.changes, DEFAULT_GUARDRAIL_RULES, collected);
        // Anything that cannot be pushed as a file refuses the whole change.
        if (collected.unsupported.length > 0) expect(verdict.ok).toBe(false);
        if (!verdict.ok) {
          expect(verdict.violations.length).toBeGreaterThan(0);
          for (const violation of verdict.violations) expect(violation.message).toMatch(/\S/);
        }
        await rm(join(workspace.workspaceDir, ".."), { recursive: true, force: true });
      }),
      30,
    );
  }, 120_000);
});
