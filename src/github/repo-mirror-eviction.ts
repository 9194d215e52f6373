/**
 * Eviction of the repository mirrors (MIRROR_MAX_GB, MIRROR_MAX_AGE_DAYS): which to remove
 * (pure), the mirrors on disk as eviction sees them, and their removal under each mirror's
 * lock. A mirror a job fetches into or reads is never removed.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { inUse, measureTree, readMeta, removeMirror, withLock } from "./repo-mirror-store.js";

/** One mirror as eviction sees it. */
export interface MirrorEntry {
  readonly name: string;
  readonly bytes: number;
  /** When a job last used it (its metadata file), or null when unknown. */
  readonly lastUsedAt: Date | null;
  readonly inUse: boolean;
}

/** Eviction limits: MIRROR_MAX_GB in bytes and MIRROR_MAX_AGE_DAYS in ms. */
export interface MirrorEvictionLimits {
  readonly maxBytes: number;
  readonly maxAgeMs: number;
  readonly now: Date;
}

/**
 * Chooses which mirrors to remove: every one unused for longer than `maxAgeMs` (or of unknown
 * age), then the least recently used until the rest fit in `maxBytes`. A mirror in use is kept.
 */
export function chooseMirrorsToEvict(mirrors: readonly MirrorEntry[], limits: MirrorEvictionLimits): string[] {
  const evicted = new Set<string>();
  for (const mirror of mirrors) {
    if (mirror.inUse) continue;
    const age = mirror.lastUsedAt === null ? Infinity : limits.now.getTime() - mirror.lastUsedAt.getTime();
    if (age > limits.maxAgeMs) evicted.add(mirror.name);
  }
  let total = mirrors.filter((mirror) => !evicted.has(mirror.name)).reduce((sum, mirror) => sum + mirror.bytes, 0);
  const oldestFirst = mirrors
    .filter((mirror) => !mirror.inUse && !evicted.has(mirror.name))
    .sort((a, b) => (a.lastUsedAt?.getTime() ?? 0) - (b.lastUsedAt?.getTime() ?? 0) || a.name.localeCompare(b.name));
  for (const mirror of oldestFirst) {
    if (total <= limits.maxBytes) break;
    evicted.add(mirror.name);
    total -= mirror.bytes;
  }
  return mirrors.filter((mirror) => evicted.has(mirror.name)).map((mirror) => mirror.name);
}

/** Lists the mirrors under `mirrorsDir` with their size, last use and whether a job reads one now. */
export async function listMirrors(mirrorsDir: string): Promise<MirrorEntry[]> {
  const entries = await readdir(mirrorsDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const mirrors: MirrorEntry[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !/^\d+\.git$/.test(entry.name)) continue;
    const gitDir = join(mirrorsDir, entry.name);
    const meta = await readMeta(gitDir);
    mirrors.push({
      name: entry.name,
      bytes: await measureTree(gitDir),
      lastUsedAt: meta === null ? null : new Date(meta.lastUsedAt),
      inUse: (inUse.get(gitDir) ?? 0) > 0 || withLock.isHeld(gitDir),
    });
  }
  return mirrors;
}

/** Removes the mirrors `chooseMirrorsToEvict` picks; returns their names. */
export async function evictMirrors(mirrorsDir: string, limits: MirrorEvictionLimits): Promise<string[]> {
  const chosen = chooseMirrorsToEvict(await listMirrors(mirrorsDir), limits);
  const removed: string[] = [];
  for (const name of chosen) {
    const gitDir = join(mirrorsDir, name);
    // Looked at again under the lock: a job may have started with it meanwhile.
    const gone = await withLock(gitDir, async () => {
      if ((inUse.get(gitDir) ?? 0) > 0) return false;
      await removeMirror(gitDir);
      return true;
    });
    if (gone) removed.push(name);
  }
  return removed;
}
