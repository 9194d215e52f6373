/**
 * Read-only snapshots of a repository's prepared workspace, one per commit and sandbox user, from
 * which each job's workspace is an overlay mount instead of an unpacked and re-committed copy
 * (WORKSPACE_SOURCE=mirror as root; ADR 0105).
 *
 *   <snapshotsDir>/<uid>.<gid>/<commit>/
 *     tree/           a layer: the whole tree for a base snapshot, or only what changed since
 *                     its parent (overlay's upper dir: new files and whiteouts) for a layer
 *     snapshot.json   written last: a directory without it is unfinished or broken, never used
 *
 * A base is `git archive` of the commit unpacked through the tarball's checks, owned by the
 * sandbox user, committed once ("Foreman base"). A layer mounts its parent's stack, applies
 * `git diff-tree` from the mirror (regular files only; anything else makes a base), stages only
 * those paths and commits a new root "Foreman base" from its parent's tree (snapshot-layer.ts:
 * O(changed paths), four git processes, the mirror's two while the parent's stack is being mounted).
 * Past MAX_DEPTH layers a new base is built. Each is
 * built under a temporary name and renamed: complete or absent.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lchown, lstat, mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { runGit } from "./git.js";
import { listMounts, mountOverlay, probeOverlay, unmountUnder } from "./overlay-mount.js";
import { applyLayer, readLayerChanges } from "./snapshot-layer.js";
import type { SkippedEntry } from "./tarball.js";
import { commitRepository, type WorkspaceLayers } from "./workspace.js";
import { createKeyedLock } from "../resilience/keyed-lock.js";

/** The repository a snapshot is made from: the host's mirror, read only. */
export interface SnapshotSource {
  /** A git directory holding the commit (and the previous snapshots' commits, for a layer). */
  readonly gitDir: string;
  /** `git archive --format=tar` of a commit, with one top-level directory. */
  readonly archive: (commit: string) => Promise<Readable>;
}

/** What a snapshot is built for. */
export interface EnsureSnapshotParams {
  /** The repository's snapshot directory. */
  readonly snapshotsDir: string;
  readonly source: SnapshotSource;
  readonly commit: string;
  readonly sandboxUser: { readonly uid: number; readonly gid: number };
  readonly timeoutMs: number;
  readonly now: Date;
}

/** A usable snapshot and how it was had. */
export interface WorkspaceSnapshot extends WorkspaceLayers {
  readonly commit: string;
  readonly built: "reused" | "layer" | "base";
}

interface SnapshotMarker {
  readonly commit: string;
  readonly baseCommit: string;
  /** The base commit's tree, which the next layer's tree is made from (absent in older markers). */
  readonly baseTree?: string;
  /** The commits whose layers make this snapshot, itself first, its base last. */
  readonly stack: readonly string[];
  /** When each of them was built: a layer rebuilt under the same commit is another layer. */
  readonly stackBuiltAt: readonly string[];
  readonly skippedEntries: readonly SkippedEntry[];
  readonly builtAt: string;
}

/** Layers a stack may have before a new base is built (each is one more overlay lower dir). */
export const MAX_DEPTH = 16;
/** Changed paths a layer may apply; a larger change builds a new base. */
const MAX_LAYER_PATHS = 2000;
const MARKER = "snapshot.json";
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
// Per user directory: one snapshot build or prune at a time in this process.
const withLock = createKeyedLock();

/** Returns the snapshot of `commit` for the sandbox user, building it (a layer if it can) when there is none. */
export async function ensureSnapshot(params: EnsureSnapshotParams): Promise<WorkspaceSnapshot> {
  if (!COMMIT.test(params.commit)) throw new Error(`"${params.commit}" is not a full commit id`);
  const userDir = join(params.snapshotsDir, `${params.sandboxUser.uid}.${params.sandboxUser.gid}`);
  return withLock(userDir, async () => {
    const existing = await readMarker(join(userDir, params.commit));
    if (existing !== null && (await isStackComplete(userDir, existing))) return toSnapshot(userDir, existing, "reused");
    // Unfinished or broken (no marker): never used; removed unless a job still mounts it.
    await removeUnlessMounted(join(userDir, params.commit));
    await mkdir(userDir, { recursive: true, mode: 0o700 });
    const parent = await findParent(userDir);
    const marker = parent === null ? await buildBase(userDir, params) : await buildLayer(userDir, params, parent);
    return toSnapshot(userDir, marker, marker.stack.length === 1 ? "base" : "layer");
  });
}

function toSnapshot(userDir: string, marker: SnapshotMarker, built: WorkspaceSnapshot["built"]): WorkspaceSnapshot {
  return {
    commit: marker.commit,
    baseCommit: marker.baseCommit,
    layerDirs: marker.stack.map((commit) => join(userDir, commit, "tree")),
    skippedEntries: marker.skippedEntries,
    built,
  };
}

// The newest snapshot a layer can go on: complete, not too deep, nothing refused in it (a refused
// entry would need the whole tree's checks again). Whether the mirror still holds its commit is
// the layer's diff-tree to find out: one git process fewer per step.
async function findParent(userDir: string): Promise<SnapshotMarker | null> {
  const markers = await listMarkers(userDir);
  const newest = markers
    .filter((marker) => marker.stack.length < MAX_DEPTH && marker.skippedEntries.length === 0)
    .sort((a, b) => b.builtAt.localeCompare(a.builtAt))[0];
  return newest ?? null;
}

async function buildBase(userDir: string, params: EnsureSnapshotParams): Promise<SnapshotMarker> {
  const building = await startBuilding(userDir, params.commit);
  try {
    const tree = join(building, "tree");
    await mkdir(tree);
    const archive = await params.source.archive(params.commit);
    const { baseCommit, skippedEntries } = await commitRepository(tree, archive, { timeoutMs: params.timeoutMs });
    // The agent's git must not repack 100k objects into its job's upper dir.
    await runGit({ cwd: tree }, ["config", "gc.auto", "0"], { timeoutMs: params.timeoutMs });
    await chownTree(tree, params.sandboxUser);
    // After the chown: the index holds the files' final owner and ctime, so git status through the mount stats only.
    await runGit({ cwd: tree }, ["update-index", "-q", "--refresh"], { timeoutMs: params.timeoutMs }).catch(
      () => undefined,
    );
    await chownTree(join(tree, ".git"), params.sandboxUser);
    const baseTree = (await runGit({ cwd: tree }, ["rev-parse", "HEAD^{tree}"], { timeoutMs: params.timeoutMs }))
      .toString("utf8")
      .trim();
    const builtAt = stamp(params);
    const marker = {
      commit: params.commit,
      baseCommit,
      baseTree,
      stack: [params.commit],
      stackBuiltAt: [builtAt],
      skippedEntries,
      builtAt,
    };
    return await finishBuilding(userDir, building, marker);
  } catch (error) {
    await discard(building);
    throw error;
  }
}

async function buildLayer(
  userDir: string,
  params: EnsureSnapshotParams,
  parent: SnapshotMarker,
): Promise<SnapshotMarker> {
  const limit = { timeoutMs: params.timeoutMs };
  const building = await startBuilding(userDir, params.commit);
  const merged = join(building, "merged");
  try {
    for (const dir of ["tree", "work", "merged"]) await mkdir(join(building, dir));
    // Side by side, since neither needs the other: the mirror's side of the layer (what changed,
    // and its blobs) and the parent's stack mounted under it. allSettled: nothing is removed while
    // the mount may still be on its way.
    const [read, mounted] = await Promise.allSettled([
      readLayerChanges(params.source.gitDir, parent.commit, params.commit, MAX_LAYER_PATHS, limit),
      mountOverlay({
        lowerDirs: toSnapshot(userDir, parent, "reused").layerDirs,
        upperDir: join(building, "tree"),
        workDir: join(building, "work"),
        target: merged,
        volatile: true,
      }),
    ]);
    if (mounted.status === "rejected") throw mounted.reason;
    if (read.status === "rejected") throw read.reason;
    if (read.value === null) {
      await unmountUnder(merged);
      await discard(building);
      return await buildBase(userDir, params);
    }
    const { changes, blobs } = read.value;
    const parentTree =
      parent.baseTree ??
      (await runGit({ cwd: merged }, ["rev-parse", `${parent.baseCommit}^{tree}`], limit)).toString("utf8").trim();
    const { baseCommit, baseTree } = await applyLayer({
      merged,
      changes,
      blobs,
      parentTree,
      owner: params.sandboxUser,
      now: params.now,
      timeoutMs: params.timeoutMs,
    });
    await unmountUnder(merged);
    // What git wrote (objects, index) is root's; the agent's git writes there too.
    await chownTree(join(building, "tree", ".git"), params.sandboxUser);
    const builtAt = stamp(params);
    const marker = {
      commit: params.commit,
      baseCommit,
      baseTree,
      stack: [params.commit, ...parent.stack],
      stackBuiltAt: [builtAt, ...parent.stackBuiltAt],
      skippedEntries: [],
      builtAt,
    };
    return await finishBuilding(userDir, building, marker);
  } catch (error) {
    await unmountUnder(merged).catch(() => undefined);
    await discard(building);
    throw error;
  }
}

async function startBuilding(userDir: string, commit: string): Promise<string> {
  const building = join(userDir, `.building-${commit}-${randomBytes(4).toString("hex")}`);
  await mkdir(building, { mode: 0o755 });
  return building;
}

// The marker, then the rename: another process that built the same commit first wins, ours goes.
async function finishBuilding(userDir: string, building: string, marker: SnapshotMarker): Promise<SnapshotMarker> {
  await rm(join(building, "work"), { recursive: true, force: true });
  await rm(join(building, "merged"), { recursive: true, force: true });
  // On disk before the marker says it is whole: a crash must not leave a marker over empty files.
  await syncTree(join(building, "tree"), marker.stack.length === 1);
  await writeFile(join(building, MARKER), `${JSON.stringify(marker)}\n`, { mode: 0o644 });
  const target = join(userDir, marker.commit);
  try {
    await rename(building, target);
    return marker;
  } catch (error) {
    const theirs = await readMarker(target);
    await discard(building);
    if (theirs === null) throw error;
    return theirs;
  }
}

async function discard(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
}

async function readMarker(dir: string): Promise<SnapshotMarker | null> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, MARKER), "utf8")) as Partial<SnapshotMarker>;
    const valid =
      typeof parsed.commit === "string" &&
      typeof parsed.baseCommit === "string" &&
      Array.isArray(parsed.stack) &&
      parsed.stack.length > 0 &&
      Array.isArray(parsed.stackBuiltAt) &&
      parsed.stackBuiltAt.length === parsed.stack.length &&
      Array.isArray(parsed.skippedEntries) &&
      typeof parsed.builtAt === "string";
    return valid ? (parsed as SnapshotMarker) : null;
  } catch {
    return null;
  }
}

async function listMarkers(userDir: string): Promise<SnapshotMarker[]> {
  const names = await readdir(userDir).catch(() => []);
  const markers: SnapshotMarker[] = [];
  for (const name of names) {
    if (!COMMIT.test(name)) continue;
    const marker = await readMarker(join(userDir, name));
    // A layer is only as good as every layer under it.
    if (marker !== null && (await isStackComplete(userDir, marker))) markers.push(marker);
  }
  return markers;
}

async function isStackComplete(userDir: string, marker: SnapshotMarker): Promise<boolean> {
  for (const [index, commit] of marker.stack.entries()) {
    if (index === 0) continue;
    const layer = await readMarker(join(userDir, commit));
    if (layer === null || layer.builtAt !== marker.stackBuiltAt[index]) return false;
  }
  return true;
}

/**
 * Removes the snapshots under `snapshotsDir` that are neither among the `keep` newest per sandbox
 * user (with the layers under them) nor mounted by a job or a build; returns the removed directories.
 */
export async function pruneSnapshots(snapshotsDir: string, keep: number): Promise<string[]> {
  const removed: string[] = [];
  const users = await readdir(snapshotsDir).catch(() => []);
  for (const user of users) {
    const userDir = join(snapshotsDir, user);
    await withLock(userDir, async () => {
      const markers = (await listMarkers(userDir)).sort((a, b) => b.builtAt.localeCompare(a.builtAt));
      const kept = new Set(markers.slice(0, keep).flatMap((marker) => marker.stack));
      for (const name of await readdir(userDir).catch(() => [])) {
        if (kept.has(name)) continue;
        const dir = join(userDir, name);
        if (await removeUnlessMounted(dir)) removed.push(dir);
      }
    });
  }
  return removed;
}

/** Where a repository's snapshots are kept: beside its mirror, `<MIRROR_DIR>/<repo id>.snapshots`. */
export function snapshotsPathOf(mirrorsDir: string, repoId: number): string {
  return join(mirrorsDir, `${repoId}.snapshots`);
}

/** Snapshots kept per repository and sandbox user by the sweep (with the layers under them). */
export const SNAPSHOTS_KEPT = 4;

/**
 * The sweep's part (at start and every 5 minutes): each repository's snapshots pruned to the
 * SNAPSHOTS_KEPT newest, and all of them once its mirror was evicted; mounted ones stay.
 */
export async function pruneMirrorSnapshots(mirrorsDir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(mirrorsDir).catch(() => [])) {
    const match = /^(\d+)\.snapshots$/.exec(name);
    if (match === null) continue;
    const mirrorGone = (await lstat(join(mirrorsDir, `${match[1]}.git`)).catch(() => null)) === null;
    removed.push(...(await pruneSnapshots(join(mirrorsDir, name), mirrorGone ? 0 : SNAPSHOTS_KEPT)));
  }
  return removed;
}

const probes = new Map<string, Promise<boolean>>();

/** Answers, once per process and directory, whether snapshots can be mounted here (a trial overlay mount). */
export function detectSnapshotSupport(dir: string): Promise<boolean> {
  const known = probes.get(dir);
  if (known !== undefined) return known;
  const probe = process.getuid?.() === 0 ? probeOverlay(dir) : Promise.resolve(false);
  probes.set(dir, probe);
  return probe;
}

// Never removes a layer some overlay still stacks (a running job's workspace): it would vanish under the agent.
async function removeUnlessMounted(dir: string): Promise<boolean> {
  if ((await lstat(dir).catch(() => null)) === null) return false;
  const tree = join(dir, "tree");
  const mounts = await listMounts();
  if (mounts.some((mount) => mount.lowerDirs.includes(tree) || mount.target.startsWith(`${dir}/`))) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

// A base: one syncfs of its file system (`sync -f`), cheaper than 100k fsyncs. A layer: its few
// files and directories one by one, so that it never waits for what other jobs wrote.
async function syncTree(path: string, whole: boolean): Promise<void> {
  if (whole) {
    await new Promise<void>((resolve, reject) => {
      execFile("sync", ["-f", path], { timeout: 600_000 }, (error) => (error === null ? resolve() : reject(error)));
    });
    return;
  }
  const stats = await lstat(path);
  if (stats.isDirectory()) for (const child of await readdir(path)) await syncTree(join(path, child), false);
  if (!stats.isFile() && !stats.isDirectory()) return;
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Lchown of a whole tree (links themselves); overlay's whiteouts (character devices) stay root's. */
async function chownTree(path: string, owner: { uid: number; gid: number }): Promise<void> {
  const stats = await lstat(path);
  if (!stats.isCharacterDevice()) await lchown(path, owner.uid, owner.gid);
  if (!stats.isDirectory()) return;
  for (const child of await readdir(path)) await chownTree(join(path, child), owner);
}

function stamp(params: EnsureSnapshotParams): string {
  // Ties broken by a counter: two snapshots built in the same millisecond still have an order.
  counter += 1;
  return `${params.now.toISOString()}#${String(counter).padStart(8, "0")}`;
}
let counter = 0;
