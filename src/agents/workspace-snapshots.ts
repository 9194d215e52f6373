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
 * those paths and amends the base commit. Past MAX_DEPTH layers a new base is built. Each is
 * built under a temporary name and renamed: complete or absent.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, lchown, lstat, mkdir, open, readdir, readFile, rename, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { runGit } from "./git.js";
import { listMounts, mountOverlay, probeOverlay, unmountUnder } from "./overlay-mount.js";
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
const PLAIN_MODES = new Set(["000000", "100644", "100755"]);
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
    const parent = await findParent(userDir, params);
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
// entry would need the whole tree's checks again), its commit in the mirror.
async function findParent(userDir: string, params: EnsureSnapshotParams): Promise<SnapshotMarker | null> {
  const markers = await listMarkers(userDir);
  const newest = markers
    .filter((marker) => marker.stack.length < MAX_DEPTH && marker.skippedEntries.length === 0)
    .sort((a, b) => b.builtAt.localeCompare(a.builtAt))[0];
  if (newest === undefined) return null;
  const known = await runGit({ cwd: params.source.gitDir }, ["cat-file", "-e", `${newest.commit}^{commit}`], {
    timeoutMs: params.timeoutMs,
  }).then(
    () => true,
    () => false,
  );
  return known ? newest : null;
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
    const builtAt = stamp(params);
    const marker = {
      commit: params.commit,
      baseCommit,
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

interface TreeChange {
  readonly newMode: string;
  readonly newSha: string;
  readonly path: string;
}

async function buildLayer(
  userDir: string,
  params: EnsureSnapshotParams,
  parent: SnapshotMarker,
): Promise<SnapshotMarker> {
  const limit = { timeoutMs: params.timeoutMs };
  const raw = await runGit(
    { cwd: params.source.gitDir },
    ["diff-tree", "-r", "-z", "--no-renames", "--no-abbrev", parent.commit, params.commit],
    limit,
  );
  const changes = parseDiffTree(raw);
  if (changes === null || changes.length > MAX_LAYER_PATHS) return buildBase(userDir, params);
  const building = await startBuilding(userDir, params.commit);
  const merged = join(building, "merged");
  try {
    await mkdir(join(building, "tree"));
    await mkdir(join(building, "work"));
    await mkdir(merged);
    await mountOverlay({
      lowerDirs: toSnapshot(userDir, parent, "reused").layerDirs,
      upperDir: join(building, "tree"),
      workDir: join(building, "work"),
      target: merged,
      volatile: true,
    });
    const blobs = await readBlobs(params.source.gitDir, changes, limit);
    // Deletions first: a directory that becomes a file (`d/x` gone, `d` new) is empty by the time `d` is written.
    const ordered = [
      ...changes.filter((change) => change.newMode === "000000"),
      ...changes.filter((change) => change.newMode !== "000000"),
    ];
    for (const change of ordered) await applyChange(merged, change, blobs.get(change.newSha), params.sandboxUser);
    // Plumbing, not `git add` and `git commit`: only the changed paths are hashed, and nothing
    // stats the other 100k files. The base commit is replaced (no parent), as a fresh base would be.
    const git = { cwd: merged };
    // --replace: an entry whose file became a directory (or back) takes the old one's place.
    await runGit(git, ["update-index", "--add", "--remove", "--replace", "-z", "--stdin"], {
      ...limit,
      input: ordered.map((change) => `${change.path}\0`).join(""),
    });
    const tree = (await runGit(git, ["write-tree"], limit)).toString("utf8").trim();
    const baseCommit = (await runGit(git, ["commit-tree", tree, "-m", "Foreman base"], limit)).toString("utf8").trim();
    await runGit(git, ["update-ref", "HEAD", baseCommit], limit);
    await unmountUnder(merged);
    // What git wrote (objects, index) is root's; the agent's git writes there too.
    await chownTree(join(building, "tree", ".git"), params.sandboxUser);
    const builtAt = stamp(params);
    const marker = {
      commit: params.commit,
      baseCommit,
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

// `--raw -z` of diff-tree: ":<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0". Null when a
// change is more than regular files at plain paths (links, submodules, type changes, a `.git`).
function parseDiffTree(output: Buffer): TreeChange[] | null {
  const fields = output.toString("utf8").split("\0");
  const changes: TreeChange[] = [];
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const [oldMode = "", newMode = "", , newSha = "", status = ""] = (fields[index] ?? "").replace(/^:/, "").split(" ");
    const path = fields[index + 1] ?? "";
    const parts = path.split("/");
    if (!PLAIN_MODES.has(oldMode) || !PLAIN_MODES.has(newMode) || !"AMD".includes(status.charAt(0))) return null;
    if (path === "" || parts.some((part) => part === "" || part === "." || part === ".." || /^\.git$/i.test(part)))
      return null;
    changes.push({ newMode, newSha, path });
  }
  return changes;
}

async function applyChange(
  root: string,
  change: TreeChange,
  content: Buffer | undefined,
  owner: { uid: number; gid: number },
): Promise<void> {
  const target = join(root, change.path);
  if (change.newMode === "000000") {
    await rm(target, { force: true });
    // git archive has no empty directories: neither has the layer.
    for (let dir = dirname(target); dir !== root; dir = dirname(dir)) {
      if (
        !(await rmdir(dir).then(
          () => true,
          () => false,
        ))
      )
        break;
    }
    return;
  }
  if (content === undefined) throw new Error(`blob ${change.newSha} of ${change.path} was not read`);
  await makeParents(root, dirname(change.path), owner);
  const stats = await lstat(target).catch(() => null);
  // Deletions came first, and no link is in the change: anything but a file here is an old tree's.
  if (stats !== null && !stats.isFile()) throw new Error(`${change.path} is not a file in the parent snapshot`);
  const mode = change.newMode === "100755" ? 0o755 : 0o644;
  await writeFile(target, content, { mode });
  await chmod(target, mode);
  await lchown(target, owner.uid, owner.gid);
}

// mkdir -p, each new directory the sandbox user's; an existing link on the way is refused.
async function makeParents(root: string, relative: string, owner: { uid: number; gid: number }): Promise<void> {
  if (relative === "." || relative === "") return;
  let dir = root;
  for (const part of relative.split("/")) {
    dir = join(dir, part);
    const stats = await lstat(dir).catch(() => null);
    if (stats?.isDirectory() === true) continue;
    if (stats !== null) throw new Error(`${relative} goes through something that is not a directory`);
    await mkdir(dir, { mode: 0o755 });
    await lchown(dir, owner.uid, owner.gid);
  }
}

// `cat-file --batch`: "<sha> blob <size>\n<content>\n" per object, in the order asked.
async function readBlobs(
  gitDir: string,
  changes: readonly TreeChange[],
  limit: { timeoutMs: number },
): Promise<Map<string, Buffer>> {
  const shas = [...new Set(changes.filter((change) => change.newMode !== "000000").map((change) => change.newSha))];
  const blobs = new Map<string, Buffer>();
  if (shas.length === 0) return blobs;
  const output = await runGit({ cwd: gitDir }, ["cat-file", "--batch"], {
    ...limit,
    input: `${shas.join("\n")}\n`,
    maxBuffer: 1024 * 1024 * 1024,
  });
  let offset = 0;
  for (const sha of shas) {
    const end = output.indexOf(10, offset);
    const [name, type, size] = output.subarray(offset, end).toString("utf8").split(" ");
    if (name !== sha || type !== "blob") throw new Error(`git cat-file did not give blob ${sha}`);
    const start = end + 1;
    blobs.set(sha, output.subarray(start, start + Number(size)));
    offset = start + Number(size) + 1;
  }
  return blobs;
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
