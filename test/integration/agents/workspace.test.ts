import {
  lstat,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
  chmod,
  mkdir,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Header } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { collectChanges } from "../../../src/agents/collect-changes.js";
import { GitOutputTooLargeError, runGit, streamGit } from "../../../src/agents/git.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES } from "../../../src/agents/guardrails.js";
import {
  prepareWorkspace,
  removeWorkspace,
  sweepWorkspaces,
  type PreparedWorkspace,
} from "../../../src/agents/workspace.js";
import { buildRepoTarball } from "./repo-tarball.js";

let baseDir: string;
const now = new Date("2025-03-04T05:06:07.000Z");
const sandboxUser = { uid: 65534, gid: 65534 };

beforeEach(async () => {
  baseDir = await mkdtemp(join(tmpdir(), "foreman-ws-"));
});

afterEach(async () => {
  await rm(baseDir, { recursive: true, force: true });
});

async function prepare(
  files: Parameters<typeof buildRepoTarball>[0],
  jobId = "job-1",
  excludes: string[] = [],
): Promise<PreparedWorkspace> {
  return prepareWorkspace({
    baseDir,
    jobId,
    tarball: await buildRepoTarball(files),
    prompt: "Do the thing.",
    context: { issue: 7 },
    sandboxUser,
    excludes,
    now,
  });
}

describe("prepareWorkspace", () => {
  it("unpacks the tarball without its top directory, commits it once, and writes prompt, context and out", async () => {
    const ws = await prepare({
      "README.md": "# Widgets\n",
      "bin/run": { content: "#!/bin/sh\n", executable: true },
      "docs/link": { symlink: "../README.md" },
    });
    expect(await readFile(join(ws.workspaceDir, "README.md"), "utf8")).toBe("# Widgets\n");
    expect(await readlink(join(ws.workspaceDir, "docs/link"))).toBe("../README.md");
    expect(await readFile(ws.promptPath, "utf8")).toBe("Do the thing.");
    expect(JSON.parse(await readFile(ws.contextPath, "utf8"))).toEqual({ issue: 7 });
    expect((await stat(ws.outDir)).isDirectory()).toBe(true);
    const tree = await runGit({ gitDir: ws.gitDir, workTree: ws.workspaceDir }, ["ls-tree", "-r", "HEAD"]);
    expect(tree.toString("utf8").replace(/ [0-9a-f]{40}\t/g, " <sha>\t")).toBe(
      "100644 blob <sha>\tREADME.md\n100755 blob <sha>\tbin/run\n120000 blob <sha>\tdocs/link\n",
    );
    const log = await runGit({ cwd: ws.workspaceDir }, ["log", "--format=%an <%ae>|%s"]);
    expect(log.toString("utf8")).toBe("Foreman <foreman@localhost>|Foreman base\n");
    expect(ws.skippedEntries).toEqual([]);
  });

  // Only root may chown, so the hand-over has two forms; each host asserts the one it uses (CI runs as root).
  it("hands the workspace and out to the sandbox user, and nothing else", async () => {
    const ws = await prepare({ "a.txt": "a\n" });
    const sandboxPaths = [ws.workspaceDir, join(ws.workspaceDir, "a.txt"), join(ws.workspaceDir, ".git"), ws.outDir];
    const hostPaths = [ws.jobDir, ws.gitDir, ws.promptPath, ws.contextPath];
    if (process.getuid?.() === 0) {
      for (const path of sandboxPaths)
        expect([(await lstat(path)).uid, (await lstat(path)).gid]).toEqual([65534, 65534]);
      for (const path of hostPaths) expect((await lstat(path)).uid).toBe(0);
    } else {
      // Without root: the sandbox's tree is made world-writable, the host's files are not.
      for (const path of sandboxPaths) expect((await lstat(path)).mode & 0o002).toBe(0o002);
      for (const path of hostPaths) expect((await lstat(path)).mode & 0o002).toBe(0);
    }
  });

  it("keeps the prompt, context and repository copy in a directory no other host user may enter", async () => {
    const ws = await prepare({ "a.txt": "a\n" });
    const jobDir = await stat(ws.jobDir);
    expect({ mode: jobDir.mode & 0o777, uid: jobDir.uid }).toEqual({ mode: 0o700, uid: process.getuid?.() });
  });

  it("refuses entries that escape the root, and says which", async () => {
    const entries = [
      tarEntry("octo-widgets-0123abc/", "Directory"),
      tarEntry("octo-widgets-0123abc/ok.txt", "File", "fine\n"),
      tarEntry("octo-widgets-0123abc/evil", "SymbolicLink", "", "/etc"),
      tarEntry("octo-widgets-0123abc/../../escape.txt", "File", "x"),
      tarEntry("octo-widgets-0123abc/hard", "Link", "", "/etc/passwd"),
    ];
    const tarball = Buffer.concat([...entries, Buffer.alloc(1024)]);
    const ws = await prepareWorkspace({
      baseDir,
      jobId: "job-evil",
      tarball,
      prompt: "",
      context: {},
      sandboxUser,
      now,
    });
    expect(ws.skippedEntries).toEqual([
      { path: "octo-widgets-0123abc/evil", reason: 'symlink to "/etc" points outside the repository' },
      { path: "octo-widgets-0123abc/../../escape.txt", reason: "path contains '..'" },
      { path: "octo-widgets-0123abc/hard", reason: "unsupported entry type Link" },
    ]);
    const tree = await runGit({ gitDir: ws.gitDir, workTree: ws.workspaceDir }, [
      "ls-tree",
      "-r",
      "--name-only",
      "HEAD",
    ]);
    expect(tree.toString("utf8")).toBe("ok.txt\n");
  });

  it("refuses symlinks that lead out only through each other, resolved once all are unpacked", async () => {
    // Each passes on its own (`a/s1/..` reads as `a`), and node-tar, which refuses a link whose target
    // goes through another link, lets `a/s2` through too.
    const ws = await prepare({
      "a/file.txt": "a\n",
      "a/s1": { symlink: ".." },
      "a/s2": { symlink: "s1/.." },
      "b/up": { symlink: "../a" },
    });
    expect(ws.skippedEntries).toEqual([
      { path: "octo-widgets-0123abc/a/s2", reason: 'symlink to "s1/.." points outside the repository' },
    ]);
    await expect(lstat(join(ws.workspaceDir, "a/s2"))).rejects.toThrow(/ENOENT/);
    expect(await readlink(join(ws.workspaceDir, "a/s1"))).toBe("..");
    const tree = await runGit({ gitDir: ws.gitDir, workTree: ws.workspaceDir }, ["ls-files"]);
    expect(tree.toString("utf8")).toBe("a/file.txt\na/s1\nb/up\n");
  });

  it("rejects a job id that is not a safe directory name", async () => {
    await expect(prepare({ "a.txt": "a" }, "../x")).rejects.toThrow('job id "../x" cannot be used as a directory name');
  });
});

describe("collectChanges", () => {
  it("lists added (untracked), modified, deleted, mode and symlink changes exactly", async () => {
    const ws = await prepare({
      "keep.txt": "same\n",
      "edit.txt": "one\ntwo\n",
      "gone.txt": "bye\n",
      "tool.sh": "echo\n",
      "node_modules/.keep": "",
    });
    await writeFile(join(ws.workspaceDir, ".gitignore"), "node_modules/\n");
    await writeFile(join(ws.workspaceDir, "edit.txt"), "one\n2\nthree\n");
    await unlink(join(ws.workspaceDir, "gone.txt"));
    await chmod(join(ws.workspaceDir, "tool.sh"), 0o755);
    await mkdir(join(ws.workspaceDir, "new"));
    await writeFile(join(ws.workspaceDir, "new/file.md"), "hello\n");
    await writeFile(join(ws.workspaceDir, "new/image.bin"), Buffer.from([0, 1, 2, 255]));
    await symlink("file.md", join(ws.workspaceDir, "new/alias"));
    await writeFile(join(ws.workspaceDir, "node_modules/ignored.js"), "ignored\n");

    const collected = await collectChanges(ws);
    expect(collected.baseFileCount).toBe(5);
    expect(collected.unsupported).toEqual([]);
    expect(collected.symlinks).toEqual(new Map([["new/alias", "file.md"]]));
    expect(collected.changes).toEqual([
      {
        path: ".gitignore",
        status: "added",
        mode: "100644",
        content: Buffer.from("node_modules/\n"),
        binary: false,
        addedLines: 1,
        deletedLines: 0,
        addedText: [{ lineNumber: 1, text: "node_modules/" }],
      },
      {
        path: "edit.txt",
        status: "modified",
        mode: "100644",
        previousMode: "100644",
        content: Buffer.from("one\n2\nthree\n"),
        binary: false,
        addedLines: 2,
        deletedLines: 1,
        addedText: [
          { lineNumber: 2, text: "2" },
          { lineNumber: 3, text: "three" },
        ],
      },
      {
        path: "gone.txt",
        status: "deleted",
        mode: "100644",
        binary: false,
        addedLines: 0,
        deletedLines: 1,
        addedText: [],
      },
      {
        path: "new/alias",
        status: "added",
        mode: "120000",
        content: Buffer.from("file.md"),
        binary: false,
        addedLines: 1,
        deletedLines: 0,
        addedText: [{ lineNumber: 1, text: "file.md" }],
      },
      {
        path: "new/file.md",
        status: "added",
        mode: "100644",
        content: Buffer.from("hello\n"),
        binary: false,
        addedLines: 1,
        deletedLines: 0,
        addedText: [{ lineNumber: 1, text: "hello" }],
      },
      {
        path: "new/image.bin",
        status: "added",
        mode: "100644",
        content: Buffer.from([0, 1, 2, 255]),
        binary: true,
        addedLines: 0,
        deletedLines: 0,
        addedText: [],
      },
      {
        path: "tool.sh",
        status: "modified",
        mode: "100755",
        previousMode: "100644",
        content: Buffer.from("echo\n"),
        binary: false,
        addedLines: 0,
        deletedLines: 0,
        addedText: [],
      },
    ]);
  });

  it("ignores what the agent plants in /workspace/.git (hooks, fsmonitor) and honours excludes", async () => {
    const ws = await prepare({ "a.txt": "a\n" }, "job-2", ["/windsurf-output.txt"]);
    const marker = join(baseDir, "pwned");
    await writeFile(
      join(ws.workspaceDir, ".git/config"),
      `[core]\n\tfsmonitor = touch ${marker}\n\thooksPath = /tmp\n`,
    );
    await writeFile(join(ws.workspaceDir, "windsurf-output.txt"), "progress\n");
    await writeFile(join(ws.workspaceDir, "a.txt"), "b\n");
    const collected = await collectChanges(ws);
    expect(collected.changes.map((change) => change.path)).toEqual(["a.txt"]);
    await expect(stat(marker)).rejects.toThrow(/ENOENT/);
  });

  it("reports nested repositories and oversized files instead of pushing them", async () => {
    const ws = await prepare({ "a.txt": "a\n" });
    await mkdir(join(ws.workspaceDir, "vendor/lib"), { recursive: true });
    await writeFile(join(ws.workspaceDir, "vendor/lib/x.txt"), "x\n");
    await runGit({ cwd: join(ws.workspaceDir, "vendor/lib") }, ["init", "--quiet"]);
    await runGit({ cwd: join(ws.workspaceDir, "vendor/lib") }, ["add", "x.txt"]);
    await runGit({ cwd: join(ws.workspaceDir, "vendor/lib") }, ["commit", "--quiet", "-m", "x"]);
    await writeFile(join(ws.workspaceDir, "big.txt"), "z".repeat(2048));
    const collected = await collectChanges(ws, { maxFileBytes: 1024 });
    expect(collected.changes).toEqual([]);
    expect(collected.unsupported).toEqual([
      { path: "big.txt", reason: "file is 2048 bytes; the limit is 1024 bytes" },
      { path: "vendor/lib", reason: "a nested git repository (submodule); Foreman only pushes files" },
    ]);
  });
});

describe("collectChanges and the byte limit", () => {
  it("measures blob sizes before reading content: over maxDiffBytes, no content, line counts or added text are read", async () => {
    const ws = await prepare({ "a.txt": "a\n", "gone.txt": "bye\n" });
    await writeFile(join(ws.workspaceDir, "one.txt"), `${"x".repeat(3000)}\n`);
    await writeFile(join(ws.workspaceDir, "two.txt"), `${"y".repeat(2000)}\n`);
    await unlink(join(ws.workspaceDir, "gone.txt"));
    const collected = await collectChanges(ws, { maxDiffBytes: 4096 });
    expect(collected).toEqual({
      changes: [
        {
          path: "gone.txt",
          status: "deleted",
          mode: "100644",
          binary: false,
          addedLines: 0,
          deletedLines: 0,
          addedText: [],
        },
        {
          path: "one.txt",
          status: "added",
          mode: "100644",
          binary: false,
          addedLines: 0,
          deletedLines: 0,
          addedText: [],
        },
        {
          path: "two.txt",
          status: "added",
          mode: "100644",
          binary: false,
          addedLines: 0,
          deletedLines: 0,
          addedText: [],
        },
      ],
      unsupported: [],
      baseFileCount: 2,
      diffBytes: 5002,
      largestFiles: [
        { path: "one.txt", bytes: 3001 },
        { path: "two.txt", bytes: 2001 },
      ],
      // Not read either: the change is refused whatever its links.
      symlinks: new Map(),
      contentSkippedOver: 4096,
    });
    const verdict = checkChanges(collected.changes, { ...DEFAULT_GUARDRAIL_RULES, maxDiffBytes: 4096 }, collected);
    expect(verdict).toMatchObject({ ok: false, violations: [{ rule: "max_diff_bytes" }] });
    // Under the limit the same change is read in full.
    const read = await collectChanges(ws, { maxDiffBytes: 8192 });
    expect(read.contentSkippedOver).toBeUndefined();
    expect(read.changes.find((change) => change.path === "one.txt")).toMatchObject({ addedLines: 1 });
  });
});

describe("streamGit", () => {
  it("stops git and rejects with GitOutputTooLargeError past maxBytes, instead of overflowing a buffer", async () => {
    const ws = await prepare({ "a.txt": "a".repeat(5000) });
    const git = { gitDir: ws.gitDir, workTree: ws.workspaceDir };
    await expect(streamGit(git, ["show", "HEAD:a.txt"], { maxBytes: 1000 })).rejects.toBeInstanceOf(
      GitOutputTooLargeError,
    );
    expect((await streamGit(git, ["show", "HEAD:a.txt"], { maxBytes: 5000 })).length).toBe(5000);
  });
});

describe("removeWorkspace and sweepWorkspaces", () => {
  it("removes at once, or keeps until the deadline and sweeps after it", async () => {
    const gone = await prepare({ "a.txt": "a" }, "job-gone");
    await removeWorkspace(gone.jobDir);
    await expect(stat(gone.jobDir)).rejects.toThrow(/ENOENT/);

    const kept = await prepare({ "a.txt": "a" }, "job-kept");
    await removeWorkspace(kept.jobDir, { keepForMs: 60_000, now });
    expect(await sweepWorkspaces(baseDir, new Date(now.getTime() + 59_999))).toEqual({
      removed: [],
      failed: [],
      foreign: [],
    });
    expect(await sweepWorkspaces(baseDir, new Date(now.getTime() + 60_000))).toEqual({
      removed: ["job-kept"],
      failed: [],
      foreign: [],
    });
    await expect(stat(kept.jobDir)).rejects.toThrow(/ENOENT/);
  });

  it("sweeps directories abandoned by a crash, but not live jobs or foreign directories", async () => {
    await prepare({ "a.txt": "a" }, "job-crashed");
    await prepare({ "a.txt": "a" }, "job-live");
    await mkdir(join(baseDir, "not-ours"));
    const later = new Date(now.getTime() + 25 * 60 * 60 * 1000);
    expect(await sweepWorkspaces(baseDir, later, { liveJobIds: new Set(["job-live"]) })).toEqual({
      removed: ["job-crashed"],
      failed: [],
      foreign: ["not-ours"],
    });
    expect((await stat(join(baseDir, "job-live"))).isDirectory()).toBe(true);
    expect((await stat(join(baseDir, "not-ours"))).isDirectory()).toBe(true);
  });

  it("after a restart, sweeps at once the dead process's directories made before, not later ones or kept ones", async () => {
    await prepare({ "a.txt": "a" }, "job-of-dead-process");
    const kept = await prepare({ "a.txt": "a" }, "job-failed-kept");
    await removeWorkspace(kept.jobDir, { keepForMs: 60_000, now });
    const restartedAt = new Date(now.getTime() + 1);
    expect(await sweepWorkspaces(baseDir, restartedAt, { abandonedBefore: now })).toEqual({
      removed: [],
      failed: [],
      foreign: [],
    });
    expect(await sweepWorkspaces(baseDir, restartedAt, { abandonedBefore: restartedAt })).toEqual({
      removed: ["job-of-dead-process"],
      failed: [],
      foreign: [],
    });
    expect((await stat(kept.jobDir)).isDirectory()).toBe(true);
  });

  it("after a restart, sweeps an empty directory made before (a crash before the job file was written), no other", async () => {
    await mkdir(join(baseDir, "job-without-file"));
    await mkdir(join(baseDir, "not-ours"));
    await writeFile(join(baseDir, "not-ours", "notes.txt"), "an operator's");
    expect(await sweepWorkspaces(baseDir, now)).toEqual({
      removed: [],
      failed: [],
      foreign: ["job-without-file", "not-ours"],
    });
    expect(await sweepWorkspaces(baseDir, now, { abandonedBefore: new Date(Date.now() + 1000) })).toEqual({
      removed: ["job-without-file"],
      failed: [],
      foreign: ["not-ours"],
    });
  });
});

// One raw tar entry (header + padded body); node-tar's packer refuses to write unsafe ones.
function tarEntry(
  path: string,
  type: "File" | "Directory" | "SymbolicLink" | "Link",
  body = "",
  linkpath = "",
): Buffer {
  const header = new Header({
    path,
    type,
    size: Buffer.byteLength(body),
    mode: type === "Directory" ? 0o755 : 0o644,
    linkpath,
    mtime: new Date(0),
  });
  const block = Buffer.alloc(512);
  header.encode(block, 0);
  const padded = Buffer.alloc(Math.ceil(Buffer.byteLength(body) / 512) * 512);
  padded.write(body);
  return Buffer.concat([block, padded]);
}
