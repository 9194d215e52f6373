/**
 * The on-disk bookkeeping of the repository mirrors, shared by the fetch (repo-mirror.ts) and
 * eviction (repo-mirror-eviction.ts): the per-mirror lock and count of archives being read in
 * this process, the metadata file (last use), sizes, and a removal that never leaves a
 * half-removed directory looking like a mirror.
 */
import { lstat, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createKeyedLock } from "../resilience/keyed-lock.js";

const META_FILE = "foreman-mirror.json";

// Per mirror: one fetch at a time in this process, and how many archives are being read.
export const withLock = createKeyedLock();
export const inUse = new Map<string, number>();

export async function removeMirror(gitDir: string): Promise<void> {
  // Renamed first: a removal cut short leaves no directory that looks like a mirror.
  const doomed = `${gitDir}.removing`;
  await rm(doomed, { recursive: true, force: true });
  await rename(gitDir, doomed).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
  });
  await rm(doomed, { recursive: true, force: true });
}

export interface MirrorMeta {
  readonly repoId: number;
  readonly lastUsedAt: string;
}

export async function writeMeta(gitDir: string, meta: MirrorMeta): Promise<void> {
  await writeFile(join(gitDir, META_FILE), `${JSON.stringify(meta)}\n`, { mode: 0o600 });
}

export async function readMeta(gitDir: string): Promise<MirrorMeta | null> {
  try {
    const parsed = JSON.parse(await readFile(join(gitDir, META_FILE), "utf8")) as Partial<MirrorMeta>;
    return typeof parsed.lastUsedAt === "string" && Number.isFinite(Date.parse(parsed.lastUsedAt))
      ? { repoId: Number(parsed.repoId), lastUsedAt: parsed.lastUsedAt }
      : null;
  } catch {
    return null;
  }
}

// The pack bytes a fetch added are the growth of objects/.
export async function measurePacks(gitDir: string): Promise<number> {
  return measureTree(join(gitDir, "objects"));
}

// A directory's size in bytes, its files' sizes summed (no du: the same figure on every host).
export async function measureTree(path: string): Promise<number> {
  const stats = await lstat(path).catch(() => null);
  if (stats === null) return 0;
  if (!stats.isDirectory()) return stats.size;
  let total = 0;
  for (const child of await readdir(path)) total += await measureTree(join(path, child));
  return total;
}

export async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

export function markInUse(gitDir: string, delta: number): void {
  const count = (inUse.get(gitDir) ?? 0) + delta;
  if (count > 0) inUse.set(gitDir, count);
  else inUse.delete(gitDir);
}
