/**
 * Where a repository's symlinks really lead. Pure. A lexical check of each link on its own is not
 * enough: `a/s1 -> ..` stays inside, and so does `a/s2 -> s1/..` read as text, but the kernel
 * resolves `s1` first, so `a/s2` is the repository's parent. Here each component of a target is
 * walked in turn, and a component that is itself one of the tree's links is replaced by its target,
 * as the kernel does, up to a bound on the links followed.
 */

/** Links followed while resolving one path before giving up, as Linux does (MAXSYMLINKS). */
export const MAX_SYMLINK_HOPS = 40;

/** How a link resolves: to a path inside the tree ("" is its root), or not. */
export type SymlinkResolution =
  | { readonly inside: true; readonly path: string }
  | { readonly inside: false; readonly reason: "outside" | "too_many_links" };

/** A link that leads out of the tree, or through too many links to tell. */
export interface EscapingSymlink {
  readonly path: string;
  readonly target: string;
  readonly reason: "outside" | "too_many_links";
}

/**
 * Resolves the link at `path` (relative to the tree's root, `/`-separated) with `target`, where
 * `links` holds every link of the tree by path. A missing component is taken as a directory, so
 * `missing/..` counts as its parent: never more permissive than the file system.
 */
export function resolveSymlink(
  path: string,
  target: string,
  links: ReadonlyMap<string, string>,
  maxHops = MAX_SYMLINK_HOPS,
): SymlinkResolution {
  if (target.startsWith("/")) return { inside: false, reason: "outside" };
  const dir = splitPath(path).slice(0, -1);
  let pending = splitPath(target);
  let hops = 1;
  while (pending.length > 0) {
    const [part, ...rest] = pending;
    pending = rest;
    if (part === undefined || part === ".") continue;
    if (part === "..") {
      if (dir.length === 0) return { inside: false, reason: "outside" };
      dir.pop();
      continue;
    }
    dir.push(part);
    const next = links.get(dir.join("/"));
    if (next === undefined) continue;
    hops += 1;
    if (hops > maxHops) return { inside: false, reason: "too_many_links" };
    if (next.startsWith("/")) return { inside: false, reason: "outside" };
    // The link stands for its target, read from the directory it is in.
    dir.pop();
    pending = [...splitPath(next), ...pending];
  }
  return { inside: true, path: dir.join("/") };
}

/** Lists the links of a tree (path → target) that resolve outside it or through too many links, by path. */
export function findEscapingSymlinks(links: ReadonlyMap<string, string>): EscapingSymlink[] {
  const escaping: EscapingSymlink[] = [];
  for (const [path, target] of links) {
    const resolved = resolveSymlink(path, target, links);
    if (!resolved.inside) escaping.push({ path, target, reason: resolved.reason });
  }
  return escaping.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Says in words why a link is refused. */
export function describeEscape(escape: Pick<EscapingSymlink, "target" | "reason">): string {
  return escape.reason === "outside"
    ? `symlink to "${escape.target}" points outside the repository`
    : `symlink to "${escape.target}" goes through more than ${MAX_SYMLINK_HOPS} links`;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((part) => part !== "");
}
