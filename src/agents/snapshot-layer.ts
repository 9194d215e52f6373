/**
 * The work inside a snapshot layer's build (src/agents/workspace-snapshots.ts, ADR 0105): with the
 * parent's stack mounted under the new layer, the commit's changed files are written from the
 * mirror, staged by path, and the layer's "Foreman base" commit is made — all in O(changed paths)
 * and in as few git processes as the work allows, since at 100k files each full pass over the
 * index (8.5 MB) and each process started on a loaded host is what a warm step's start is made of.
 */
import { chmod, lchown, lstat, mkdir, rm, rmdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FOREMAN_GIT_IDENTITY, runGit } from "./git.js";

/** One path of `git diff-tree -r` between the parent's commit and the layer's. */
export interface TreeChange {
  readonly newMode: string;
  readonly newSha: string;
  readonly path: string;
}

const PLAIN_MODES = new Set(["000000", "100644", "100755"]);

/**
 * `--raw -z` of diff-tree: ":<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0". Null when a
 * change is more than regular files at plain paths (links, submodules, type changes, a `.git`).
 */
export function parseDiffTree(output: Buffer): TreeChange[] | null {
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

/**
 * What changed from the parent's commit to the layer's, with the new blobs, from the mirror; null
 * when a layer cannot apply it (a change beyond regular files, more than `maxPaths` paths, or a
 * parent commit the mirror does not hold: a rebuilt mirror) and a base must be built.
 */
export async function readLayerChanges(
  sourceGitDir: string,
  parentCommit: string,
  commit: string,
  maxPaths: number,
  limit: { timeoutMs: number },
): Promise<{ changes: TreeChange[]; blobs: Map<string, Buffer> } | null> {
  const raw = await runGit(
    { cwd: sourceGitDir },
    ["diff-tree", "-r", "-z", "--no-renames", "--no-abbrev", parentCommit, commit],
    limit,
  ).catch(() => null);
  const changes = raw === null ? null : parseDiffTree(raw);
  if (changes === null || changes.length > maxPaths) return null;
  return { changes, blobs: await readBlobs(sourceGitDir, changes, limit) };
}

/** What a layer is built from, with the parent's stack mounted at `merged`. */
export interface ApplyLayerParams {
  /** The overlay mount: the parent's stack below, the new layer as its upper dir. */
  readonly merged: string;
  readonly changes: readonly TreeChange[];
  /** The changed files' contents by blob id (readLayerChanges). */
  readonly blobs: ReadonlyMap<string, Buffer>;
  /** The tree of the parent's base commit, which the layer's tree is this change of. */
  readonly parentTree: string;
  readonly owner: { readonly uid: number; readonly gid: number };
  readonly now: Date;
  readonly timeoutMs: number;
}

/**
 * Writes the changed files, stages them and commits the layer's new root "Foreman base" commit on
 * `main`; returns that commit and its tree. Two git processes (the blobs came with the changes): the
 * index entries of those paths (`update-index`, the one rewrite of the index), and the trees, the
 * commit and the ref in one `fast-import` from the parent's tree: `write-tree` would rewrite the
 * whole index a second time, and `commit-tree` and `update-ref` cost a process each.
 */
export async function applyLayer(params: ApplyLayerParams): Promise<{ baseCommit: string; baseTree: string }> {
  const limit = { timeoutMs: params.timeoutMs };
  // Deletions first: a directory that becomes a file (`d/x` gone, `d` new) is empty by the time `d` is written.
  const ordered = [
    ...params.changes.filter((change) => change.newMode === "000000"),
    ...params.changes.filter((change) => change.newMode !== "000000"),
  ];
  for (const change of ordered) await applyChange(params.merged, change, params.blobs.get(change.newSha), params.owner);
  const git = { cwd: params.merged };
  // Plumbing, not `git add`: only the changed paths are hashed (their blobs written), and nothing
  // stats the other 100k files. --replace: an entry whose file became a directory (or back) takes
  // the old one's place.
  await runGit(git, ["update-index", "--add", "--remove", "--replace", "-z", "--stdin"], {
    ...limit,
    input: ordered.map((change) => `${change.path}\0`).join(""),
  });
  // A new root commit (no `from`: no parent, as a fresh base has), its tree the parent's with the
  // same changes the index got: the same tree `write-tree` would write. `--force`: `main` moves to
  // a commit that does not descend from it. A pack, not loose objects: a smaller one would be
  // unpacked by one more process. `done`: a stream cut short commits nothing. The commit and its
  // tree come back on stdout (`get-mark`, `ls`).
  const output = await runGit(
    git,
    ["-c", "fastimport.unpackLimit=0", "fast-import", "--quiet", "--force", "--done", "--cat-blob-fd=1"],
    { ...limit, input: buildImportStream(params.parentTree, ordered, params.now) },
  );
  const answer = /^([0-9a-f]{40,64})\n040000 tree ([0-9a-f]{40,64})\t\n$/.exec(output.toString("utf8"));
  if (answer === null) throw new Error("git fast-import did not report the layer's commit and tree");
  return { baseCommit: answer[1] ?? "", baseTree: answer[2] ?? "" };
}

// The fast-import stream of one commit: the parent's tree at the root, then each change by the
// blob update-index wrote. Paths always C-quoted: any byte but NUL may be in a git path.
function buildImportStream(parentTree: string, ordered: readonly TreeChange[], now: Date): Buffer {
  const message = Buffer.from("Foreman base\n");
  const who = `${FOREMAN_GIT_IDENTITY.name} <${FOREMAN_GIT_IDENTITY.email}> ${Math.floor(now.getTime() / 1000)} +0000`;
  const lines = [
    "feature done",
    "commit refs/heads/main",
    "mark :1",
    `author ${who}`,
    `committer ${who}`,
    `data ${message.length}`,
  ];
  const changes = [
    `M 040000 ${parentTree} ""`,
    ...ordered.map((change) =>
      change.newMode === "000000"
        ? `D ${quotePath(change.path)}`
        : `M ${change.newMode} ${change.newSha} ${quotePath(change.path)}`,
    ),
  ];
  return Buffer.concat([
    Buffer.from(`${lines.join("\n")}\n`),
    message,
    Buffer.from(`${changes.join("\n")}\n\nget-mark :1\nls :1 ""\ndone\n`),
  ]);
}

/** A path as fast-import's C-style quoted string: backslash, quote and control characters escaped, the rest as is. */
export function quotePath(path: string): string {
  const escaped = path.replace(/[\\"\u0000-\u001f\u007f]/g, (char) =>
    char === "\\" || char === '"' ? `\\${char}` : `\\${char.charCodeAt(0).toString(8).padStart(3, "0")}`,
  );
  return `"${escaped}"`;
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
