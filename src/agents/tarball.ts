/**
 * Unpacks a repository tarball as GitHub serves it (`GET /repos/{o}/{r}/tarball/{ref}`: one
 * top-level directory `owner-repo-sha/`) into a directory, refusing every entry that could
 * write or point outside it — symlinks included, resolved through each other once all are unpacked.
 */
import { readdir, readlink, unlink } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { x as extract } from "tar";
import { describeEscape, findEscapingSymlinks } from "./symlinks.js";

/** A tarball entry that was not unpacked, and why. */
export interface SkippedEntry {
  readonly path: string;
  readonly reason: string;
}

const EXTRACTED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink"]);

/**
 * Decides whether one tar entry may be unpacked. `rawPath` still has the top-level directory;
 * `topDir` is the first one seen. Returns the reason to refuse it, `"skip"` for the top-level
 * directory itself, or null when it is safe.
 */
export function findUnsafeTarEntry(
  rawPath: string,
  type: string,
  linkpath: string | undefined,
  topDir: string,
): string | "skip" | null {
  if (rawPath.startsWith("/") || /^[A-Za-z]:/.test(rawPath)) return "absolute path";
  const parts = rawPath.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes("..")) return "path contains '..'";
  if (parts[0] !== topDir) return `outside the archive's top-level directory "${topDir}"`;
  if (parts.length === 1) return "skip";
  if (!EXTRACTED_TYPES.has(type)) return `unsupported entry type ${type}`;
  if (type === "SymbolicLink") {
    const target = linkpath ?? "";
    if (target === "" || target.startsWith("/")) return `symlink to "${target}" points outside the repository`;
    const resolved = posix.normalize(posix.join(posix.dirname(parts.slice(1).join("/")), target));
    if (resolved === ".." || resolved.startsWith("../")) return `symlink to "${target}" points outside the repository`;
  }
  return null;
}

/** Unpacks the tarball into `dir` (which must exist), dropping the top-level directory. */
export async function unpackTarball(tarball: Readable | Uint8Array, dir: string): Promise<SkippedEntry[]> {
  const skipped: SkippedEntry[] = [];
  let topDir: string | undefined;
  const unpack = extract({
    cwd: dir,
    strip: 1,
    preserveOwner: false,
    // node-tar's own checks stay on as a second line of defence; its refusals are reported too.
    onwarn: (code, message, data) => {
      const entry = data.entry as { path?: unknown } | undefined;
      if (code === "TAR_ENTRY_ERROR") skipped.push({ path: String(data.path ?? entry?.path ?? "?"), reason: message });
    },
    filter: (path, entry) => {
      const type = "type" in entry ? String(entry.type) : "File";
      const linkpath = "linkpath" in entry && entry.linkpath !== undefined ? String(entry.linkpath) : undefined;
      topDir ??= path.split("/").find((part) => part !== "" && part !== ".") ?? "";
      const verdict = findUnsafeTarEntry(path, type, linkpath, topDir);
      if (verdict !== null && verdict !== "skip") skipped.push({ path, reason: verdict });
      return verdict === null;
    },
  });
  const source = tarball instanceof Readable ? tarball : Readable.from([Buffer.from(tarball)]);
  await pipeline(source, unpack);
  // Each link passed on its own; together (`a/s1 -> ..`, `a/s2 -> s1/..`) they may still lead out.
  // Removing one can change where others lead, so until none is left.
  const links = await listSymlinks(dir);
  for (let escaping = findEscapingSymlinks(links); escaping.length > 0; escaping = findEscapingSymlinks(links)) {
    for (const escape of escaping) {
      await unlink(join(dir, escape.path));
      links.delete(escape.path);
      skipped.push({ path: `${topDir ?? ""}/${escape.path}`, reason: describeEscape(escape) });
    }
  }
  return skipped;
}

// Every symlink under `dir`, by path relative to it; directories are walked, links never followed.
async function listSymlinks(dir: string): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  const visit = async (relative: string): Promise<void> => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isSymbolicLink()) links.set(path, await readlink(join(dir, path)));
      else if (entry.isDirectory()) await visit(path);
    }
  };
  await visit("");
  return links;
}
