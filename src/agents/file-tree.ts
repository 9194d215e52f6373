/**
 * Walks and copies of a job directory's trees with many file system calls in flight at once.
 *
 * Every `fs.promises` call is a trip through libuv's thread pool and back to the event loop. One at
 * a time, a tree of a few dozen entries (a fresh `.git`) costs hundreds of such trips in a row; with
 * ten jobs starting together on a busy host each trip waited 10–20 ms, so copying a `.git` took
 * ~0.5 s (docs/performance.md, "10 concurrent containers"). Here each level of a tree is handled in
 * parallel, up to WALK_IN_FLIGHT calls at once, so the trips overlap.
 */
import { chmod, copyFile, lstat, mkdir, readdir, readlink, symlink } from "node:fs/promises";
import { join } from "node:path";

/** At most this many calls of one walk wait in libuv's queue at once (its 4 threads run them). */
export const WALK_IN_FLIGHT = 32;

/** Runs `visit` on every item, at most `limit` at a time; the first failure rejects (after the running ones end). */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  visit: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await visit(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(limit, items.length) }, lane);
  const settled = await Promise.allSettled(lanes);
  const rejected = settled.find((result) => result.status === "rejected");
  if (rejected !== undefined) throw rejected.reason;
}

/** One entry below a walked directory: its path relative to the root, and what it is (never followed). */
export interface TreeEntry {
  readonly path: string;
  readonly kind: "directory" | "file" | "symlink" | "other";
}

/**
 * Every entry below `root` (not `root` itself), parents before their children, found one level at a
 * time with the level's directories read in parallel. Symlinks are reported, never followed.
 */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const entries: TreeEntry[] = [];
  for (let level = [""]; level.length > 0;) {
    const below: string[] = [];
    await forEachLimited(level, WALK_IN_FLIGHT, async (relative) => {
      for (const dirent of await readdir(join(root, relative), { withFileTypes: true })) {
        const path = relative === "" ? dirent.name : `${relative}/${dirent.name}`;
        const kind = dirent.isDirectory()
          ? "directory"
          : dirent.isSymbolicLink()
            ? "symlink"
            : dirent.isFile()
              ? "file"
              : "other";
        entries.push({ path, kind });
        if (kind === "directory") below.push(path);
      }
    });
    level = below;
  }
  return entries;
}

/**
 * Copies the tree `source` to `target` (which must not exist): directories with their modes, files
 * with theirs (copyFile), symlinks as they are (their targets verbatim, like `cp`'s
 * `verbatimSymlinks`). Anything else (a socket, a FIFO) is refused.
 */
export async function copyTree(source: string, target: string): Promise<void> {
  const entries = await listTree(source);
  const unsupported = entries.find((entry) => entry.kind === "other");
  if (unsupported !== undefined)
    throw new Error(`${join(source, unsupported.path)} is neither a file, a directory nor a symlink`);
  await mkdir(target);
  const directories = entries.filter((entry) => entry.kind === "directory");
  // Parents first: listTree lists a directory before anything in it, and mkdir is recursive for safety.
  await forEachLimited(directories, WALK_IN_FLIGHT, (entry) =>
    mkdir(join(target, entry.path), { recursive: true }).then(() => undefined),
  );
  await forEachLimited(entries, WALK_IN_FLIGHT, async (entry) => {
    if (entry.kind === "file") await copyFile(join(source, entry.path), join(target, entry.path));
    else if (entry.kind === "symlink")
      await symlink(await readlink(join(source, entry.path)), join(target, entry.path));
  });
  // The directories' modes last: a read-only one could not have been filled.
  await forEachLimited([{ path: "", kind: "directory" as const }, ...directories], WALK_IN_FLIGHT, async (entry) => {
    const { mode } = await lstat(join(source, entry.path));
    await chmod(join(target, entry.path), mode & 0o7777);
  });
}
