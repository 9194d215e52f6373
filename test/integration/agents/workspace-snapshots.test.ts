import { execFileSync } from "node:child_process";
import { lstat, mkdir, mkdtemp, readFile, rm, stat, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Readable } from "node:stream";
import fc from "fast-check";
import { chmod, symlink } from "node:fs/promises";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkAsyncProperty } from "../../fuzz/fuzz-settings.js";
import { collectChanges } from "../../../src/agents/collect-changes.js";
import { listMounts, probeOverlay } from "../../../src/agents/overlay-mount.js";
import {
  prepareWorkspace,
  removeWorkspace,
  sweepWorkspaces,
  type PreparedWorkspace,
} from "../../../src/agents/workspace.js";
import { ensureSnapshot, pruneSnapshots, type SnapshotSource } from "../../../src/agents/workspace-snapshots.js";

// Overlay mounts need root with CAP_SYS_ADMIN, as the runner host that uses snapshots has: the
// file fails rather than skips without it.
const sandboxUser = { uid: 65534, gid: 65534 };
const now = new Date("2025-03-04T05:06:07.000Z");
let root: string;
let origin: string;
let work: string;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
  })
    .toString("utf8")
    .trim();
}

// One commit on main: writes, deletes (null), modes.
async function commit(files: Record<string, string | { content: string; executable: true } | null>): Promise<string> {
  for (const [path, file] of Object.entries(files)) {
    const target = join(work, path);
    if (file === null) {
      git(work, "rm", "--quiet", path);
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, typeof file === "string" ? file : file.content);
    git(work, "update-index", "--add", "--chmod", typeof file === "string" ? "-x" : "+x", "--", path);
    git(work, "add", path);
  }
  git(work, "commit", "--quiet", "--allow-empty", "-m", "change");
  git(work, "push", "--quiet", origin, "HEAD:main");
  return git(work, "rev-parse", "HEAD");
}

const source = (): SnapshotSource => ({
  gitDir: origin,
  archive: (ref) =>
    Promise.resolve(Readable.from([execFileSync("git", ["--git-dir", origin, "archive", "--prefix=repo/", ref])])),
});

const snapshotOf = (ref: string) =>
  ensureSnapshot({
    snapshotsDir: join(root, "snapshots"),
    source: source(),
    commit: ref,
    sandboxUser,
    timeoutMs: 60_000,
    now,
  });

async function prepareFrom(ref: string, jobId: string, jobNow = now): Promise<PreparedWorkspace> {
  return prepareWorkspace({
    baseDir: join(root, "workspaces"),
    jobId,
    snapshot: await snapshotOf(ref),
    prompt: "p",
    context: {},
    sandboxUser,
    excludes: [".agent-state/"],
    now: jobNow,
  });
}

async function mountsUnder(dir: string): Promise<string[]> {
  return (await listMounts()).map((mount) => mount.target).filter((target) => target.startsWith(dir));
}

beforeAll(async () => {
  const scratch = await mkdtemp(join(tmpdir(), "foreman-overlay-check-"));
  const can = await probeOverlay(scratch);
  await rm(scratch, { recursive: true, force: true });
  if (!can) throw new Error("These tests mount overlayfs: run them as root with CAP_SYS_ADMIN.");
});

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "foreman-snap-"));
  origin = join(root, "origin.git");
  work = join(root, "work");
  git(root, "init", "--quiet", "--bare", "--initial-branch=main", origin);
  git(root, "init", "--quiet", "--initial-branch=main", work);
  git(work, "config", "user.email", "t@t");
  git(work, "config", "user.name", "t");
});

afterEach(async () => {
  const left = await mountsUnder(root);
  for (const target of left.reverse()) execFileSync("umount", ["-l", target]);
  await rm(root, { recursive: true, force: true });
  expect(left).toEqual([]);
});

describe("workspace snapshots", () => {
  it("makes each job's workspace the commit's tree, from a base and then a layer, with a diff of the agent's changes only", async () => {
    const first = await commit({
      "a.txt": "a\n",
      "dir/b.txt": "b\n",
      "run.sh": { content: "#!/bin/sh\n", executable: true },
    });
    expect((await snapshotOf(first)).built).toBe("base");
    const second = await commit({ "a.txt": "a2\n", "dir/b.txt": null, "new/c.txt": "c\n", "run.sh": "#!/bin/sh\n" });
    const layer = await snapshotOf(second);
    expect({ built: layer.built, layers: layer.layerDirs.length }).toEqual({ built: "layer", layers: 2 });
    expect((await snapshotOf(second)).built).toBe("reused");

    const ws = await prepareFrom(second, "job-1");
    expect(await readFile(join(ws.workspaceDir, "a.txt"), "utf8")).toBe("a2\n");
    expect(await lstat(join(ws.workspaceDir, "dir")).catch(() => null)).toBeNull();
    expect(await readFile(join(ws.workspaceDir, "new/c.txt"), "utf8")).toBe("c\n");
    expect((await stat(join(ws.workspaceDir, "run.sh"))).mode & 0o777).toBe(0o644);
    const owner = await stat(join(ws.workspaceDir, "new/c.txt"));
    expect([owner.uid, owner.gid]).toEqual([sandboxUser.uid, sandboxUser.gid]);
    const rootDir = await stat(ws.workspaceDir);
    expect([rootDir.uid, rootDir.gid]).toEqual([sandboxUser.uid, sandboxUser.gid]);
    // The base commit holds the commit's tree, in the agent's git and the host's.
    expect(git(ws.workspaceDir, "-c", "safe.directory=*", "rev-parse", "HEAD^{tree}")).toBe(
      git(origin, "rev-parse", `${second}^{tree}`),
    );
    expect(git(ws.workspaceDir, "-c", "safe.directory=*", "log", "--format=%s")).toBe("Foreman base");
    expect(ws.baseCommit).toBe(git(ws.workspaceDir, "-c", "safe.directory=*", "rev-parse", "HEAD"));
    expect((await collectChanges(ws)).changes).toEqual([]);

    await writeFile(join(ws.workspaceDir, "a.txt"), "a3\n");
    await writeFile(join(ws.workspaceDir, "x.txt"), "x\n");
    await unlink(join(ws.workspaceDir, "new/c.txt"));
    await mkdir(join(ws.workspaceDir, ".agent-state"));
    await writeFile(join(ws.workspaceDir, ".agent-state/cache"), "tool state\n");
    const changes = (await collectChanges(ws)).changes.map((change) => [change.path, change.status]);
    expect(changes).toEqual([
      ["a.txt", "modified"],
      ["new/c.txt", "deleted"],
      ["x.txt", "added"],
    ]);
    // The agent's writes stay in its job's upper dir: the next job sees the snapshot untouched.
    const next = await prepareFrom(second, "job-2");
    expect(await readFile(join(next.workspaceDir, "a.txt"), "utf8")).toBe("a2\n");
    expect(await lstat(join(next.workspaceDir, "x.txt")).catch(() => null)).toBeNull();
    await removeWorkspace(ws.jobDir);
    await removeWorkspace(next.jobDir);
  });

  it("unmounts before removing a job directory, on removal and on the sweep of a crashed job, and leaves the snapshot whole", async () => {
    const head = await commit({ "a.txt": "a\n" });
    const snapshot = await snapshotOf(head);
    const removed = await prepareFrom(head, "job-1");
    await writeFile(join(removed.workspaceDir, "a.txt"), "changed\n");
    await removeWorkspace(removed.jobDir);
    expect(await lstat(removed.jobDir).catch(() => null)).toBeNull();

    // A crash left this one mounted: the sweep finds it abandoned.
    const crashed = await prepareFrom(head, "job-2", new Date(now.getTime() - 2 * 24 * 60 * 60 * 1000));
    expect(await mountsUnder(crashed.jobDir)).toEqual([crashed.workspaceDir]);
    const swept = await sweepWorkspaces(join(root, "workspaces"), now);
    expect(swept.removed).toEqual(["job-2"]);
    expect(await mountsUnder(join(root, "workspaces"))).toEqual([]);
    expect(await readFile(join(snapshot.layerDirs[0] ?? "", "a.txt"), "utf8")).toBe("a\n");
    expect((await snapshotOf(head)).built).toBe("reused");
  });

  it("never uses a snapshot without its marker, nor a layer whose base was rebuilt", async () => {
    const first = await commit({ "a.txt": "a\n" });
    await snapshotOf(first);
    const second = await commit({ "b.txt": "b\n" });
    const layer = await snapshotOf(second);
    const baseDir = dirname(layer.layerDirs[1] ?? "");
    await writeFile(join(baseDir, "snapshot.json"), "{ broken");
    expect((await snapshotOf(first)).built).toBe("base");
    // The layer was built on the old base: rebuilt, on the new one.
    const rebuilt = await snapshotOf(second);
    expect(rebuilt.built).toBe("layer");
    const ws = await prepareFrom(second, "job-1");
    expect(await readFile(join(ws.workspaceDir, "b.txt"), "utf8")).toBe("b\n");
    expect((await collectChanges(ws)).changes).toEqual([]);
    await removeWorkspace(ws.jobDir);
  });

  it("layers paths that fast-import must have quoted, on a parent of an older marker too, each the commit's tree and clean", async () => {
    const first = await commit({ "plain.txt": "p\n" });
    expect((await snapshotOf(first)).built).toBe("base");
    const names = [
      "with space.txt",
      'quote"d.txt',
      "back\\slash.txt",
      "new\nline.txt",
      "tab\there.txt",
      "ünï/cödé.txt",
    ];
    const second = await commit(Object.fromEntries(names.map((name) => [name, `${name}\n`])));
    expect((await snapshotOf(second)).built).toBe("layer");
    // A marker written before `baseTree` was recorded: the layer finds its parent's tree itself.
    const markerPath = join(root, "snapshots", `${sandboxUser.uid}.${sandboxUser.gid}`, second, "snapshot.json");
    const { baseTree, ...older } = JSON.parse(await readFile(markerPath, "utf8")) as { baseTree: string };
    expect(baseTree).toMatch(/^[0-9a-f]{40}$/);
    await writeFile(markerPath, `${JSON.stringify(older)}\n`);
    const third = await commit({ [names[1]!]: null, [names[3]!]: "changed\n", "deep/er/x.txt": "x\n" });
    const layer = await snapshotOf(third);
    expect({ built: layer.built, layers: layer.layerDirs.length }).toEqual({ built: "layer", layers: 3 });
    for (const [ref, jobId] of [
      [second, "job-q2"],
      [third, "job-q3"],
    ] as const) {
      const ws = await prepareFrom(ref, jobId);
      const agentGit = (...args: string[]) => git(ws.workspaceDir, "-c", "safe.directory=*", ...args);
      expect(agentGit("rev-parse", "HEAD^{tree}")).toBe(git(origin, "rev-parse", `${ref}^{tree}`));
      expect(agentGit("log", "--format=%s")).toBe("Foreman base");
      expect(agentGit("status", "--porcelain")).toBe("");
      expect((await collectChanges(ws)).changes).toEqual([]);
      await removeWorkspace(ws.jobDir);
    }
  });

  it("builds a base, and leaves no mount, when the mirror no longer holds the parent's commit", async () => {
    const first = await commit({ "a.txt": "a\n" });
    expect((await snapshotOf(first)).built).toBe("base");
    // The mirror rebuilt without the parent: its history rewritten, the old commit pruned.
    git(work, "checkout", "--quiet", "--orphan", "rewritten");
    await writeFile(join(work, "b.txt"), "b\n");
    git(work, "add", "b.txt");
    git(work, "commit", "--quiet", "-m", "rewritten");
    git(work, "push", "--quiet", "--force", origin, "HEAD:main");
    const second = git(work, "rev-parse", "HEAD");
    git(origin, "reflog", "expire", "--expire=now", "--all");
    git(origin, "gc", "--quiet", "--prune=now");
    expect(() => git(origin, "cat-file", "-e", `${first}^{commit}`)).toThrow();
    const snapshot = await snapshotOf(second);
    expect({ built: snapshot.built, layers: snapshot.layerDirs.length }).toEqual({ built: "base", layers: 1 });
    expect(await mountsUnder(root)).toEqual([]);
  });

  it("applies a directory that becomes a file, and a file that becomes a directory, as a layer", async () => {
    const first = await commit({ "d/x.txt": "x\n", f: "f\n" });
    await snapshotOf(first);
    git(work, "rm", "--quiet", "-r", "d", "f");
    const second = await commit({ d: "now a file\n", "f/inner.txt": "now a directory\n" });
    expect((await snapshotOf(second)).built).toBe("layer");
    const ws = await prepareFrom(second, "job-1");
    expect(await readFile(join(ws.workspaceDir, "d"), "utf8")).toBe("now a file\n");
    expect(await readFile(join(ws.workspaceDir, "f/inner.txt"), "utf8")).toBe("now a directory\n");
    expect((await collectChanges(ws)).changes).toEqual([]);
    await removeWorkspace(ws.jobDir);
  });

  it("builds a base instead of a layer for changes beyond regular files (a symlink)", async () => {
    const first = await commit({ "a.txt": "a\n" });
    await snapshotOf(first);
    await mkdir(join(work, "l"), { recursive: true });
    execFileSync("ln", ["-s", "../a.txt", join(work, "l", "link")]);
    git(work, "add", "l/link");
    const second = await commit({});
    const snapshot = await snapshotOf(second);
    expect({ built: snapshot.built, layers: snapshot.layerDirs.length }).toEqual({ built: "base", layers: 1 });
  });

  it("prunes old snapshots but keeps the layers under the kept ones and those a job mounts", async () => {
    const first = await commit({ "a.txt": "a\n" });
    await snapshotOf(first);
    const mounted = await prepareFrom(first, "job-1");
    const second = await commit({ "b.txt": "b\n" });
    const layered = await snapshotOf(second);
    // Keep 1: the second and the base under it stay.
    expect(await pruneSnapshots(join(root, "snapshots"), 1)).toEqual([]);
    execFileSync("ln", ["-s", "a.txt", join(work, "link")]);
    git(work, "add", "link");
    const third = await commit({});
    expect((await snapshotOf(third)).built).toBe("base");
    // The second goes; the first is still mounted by job-1, until it is removed.
    const secondDir = dirname(layered.layerDirs[0] ?? "");
    const firstDir = dirname(layered.layerDirs[1] ?? "");
    expect(await pruneSnapshots(join(root, "snapshots"), 1)).toEqual([secondDir]);
    expect(await readFile(join(mounted.workspaceDir, "a.txt"), "utf8")).toBe("a\n");
    await removeWorkspace(mounted.jobDir);
    expect(await pruneSnapshots(join(root, "snapshots"), 1)).toEqual([firstDir]);
    expect((await snapshotOf(third)).built).toBe("reused");
  });

  it("collects the same changes from a snapshot workspace as from an unpacked copy, whatever the agent does", async () => {
    const first = await commit({
      "README.md": "# W\n",
      "src/main.ts": "x\n",
      "run.sh": { content: "#!/bin/sh\n", executable: true },
    });
    await snapshotOf(first);
    const head = await commit({ "src/main.ts": "y\n", "src/extra.ts": "z\n" });
    expect((await snapshotOf(head)).built).toBe("layer");
    const paths = ["README.md", "src/main.ts", "src/extra.ts", "run.sh", "src", "new.txt", "src/new/deep.txt"];
    const operation = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), path: fc.constantFrom(...paths), content: fc.string() }),
      fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...paths) }),
      fc.record({
        kind: fc.constant("chmod" as const),
        path: fc.constantFrom(...paths),
        mode: fc.constantFrom(0o644, 0o755),
      }),
      fc.record({
        kind: fc.constant("symlink" as const),
        path: fc.constantFrom(...paths),
        target: fc.constantFrom("README.md", "../x"),
      }),
    );
    type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;
    const apply = async (dir: string, op: Operation): Promise<void> => {
      const target = join(dir, op.path);
      try {
        if (op.kind === "write") await writeFile(target, op.content);
        else if (op.kind === "delete") await rm(target, { recursive: true });
        else if (op.kind === "chmod") await chmod(target, op.mode);
        else await symlink(op.target, target);
      } catch {
        // The agent's attempt failed (ENOENT, EISDIR…), as it would in the container.
      }
    };
    let runs = 0;
    await checkAsyncProperty(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 6 }), async (operations) => {
        runs += 1;
        const mounted = await prepareFrom(head, `snap-${runs}`);
        const unpacked = await prepareWorkspace({
          baseDir: join(root, "workspaces"),
          jobId: `copy-${runs}`,
          tarball: execFileSync("git", ["--git-dir", origin, "archive", "--prefix=r/", head]),
          prompt: "p",
          context: {},
          sandboxUser,
          excludes: [".agent-state/"],
          now,
        });
        for (const op of operations) {
          await apply(mounted.workspaceDir, op);
          await apply(unpacked.workspaceDir, op);
        }
        const [fromSnapshot, fromCopy] = await Promise.all([collectChanges(mounted), collectChanges(unpacked)]);
        expect(fromSnapshot.changes).toEqual(fromCopy.changes);
        expect(fromSnapshot.unsupported).toEqual(fromCopy.unsupported);
        await removeWorkspace(mounted.jobDir);
        await removeWorkspace(unpacked.jobDir);
      }),
      15,
    );
  }, 240_000);
});
