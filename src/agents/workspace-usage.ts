/**
 * What a job's directories take on disk (WORKSPACE_MAX_MB), measured on the host by walking
 * them with lstat: allocated blocks, not apparent sizes, so a sparse 4 GiB file counts the
 * little it really uses and 150 MB of real data counts 150 MB. Symlinks are not followed and a
 * file with several hard links counts once.
 */
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { forEachLimited, WALK_IN_FLIGHT } from "./file-tree.js";

/** WORKSPACE_MAX_MB's default: 4096 MB per job (the repository copy, its git directory and out/). */
export const DEFAULT_WORKSPACE_MAX_BYTES = 4096 * 1024 * 1024;

/** How much a walk counted; `complete: false` when it stopped early, past the limit it was given. */
export interface DiskUsage {
  readonly bytes: number;
  readonly complete: boolean;
}

/** A job directory that takes more disk than WORKSPACE_MAX_MB allows. */
export class WorkspaceQuotaError extends Error {
  readonly usage: DiskUsage;
  readonly limitBytes: number;

  constructor(what: string, usage: DiskUsage, limitBytes: number) {
    super(
      `${what} ${describeDiskUsage(usage)} on disk, over the limit of ${formatMegabytes(limitBytes)} (WORKSPACE_MAX_MB)`,
    );
    this.name = "WorkspaceQuotaError";
    this.usage = usage;
    this.limitBytes = limitBytes;
  }
}

/**
 * Adds up the blocks allocated to everything under `dirs` (the directories themselves included).
 * With `stopAboveBytes`, stops as soon as the count passes it: a tree far over the limit costs
 * no more to refuse than one just over it.
 */
export async function measureDiskUsage(
  dirs: readonly string[],
  options: { stopAboveBytes?: number } = {},
): Promise<DiskUsage> {
  const stopAbove = options.stopAboveBytes ?? Number.POSITIVE_INFINITY;
  const seen = new Set<string>();
  let bytes = 0;
  let over = false;
  // One level of the trees at a time, its entries measured in parallel (src/agents/file-tree.ts).
  for (let level = [...dirs]; level.length > 0 && !over;) {
    const below: string[] = [];
    await forEachLimited(level, WALK_IN_FLIGHT, async (path) => {
      if (over) return;
      const stats = await lstat(path);
      // A hard link is the same blocks again.
      if (stats.nlink > 1 && !stats.isDirectory()) {
        const inode = `${stats.dev}:${stats.ino}`;
        if (seen.has(inode)) return;
        seen.add(inode);
      }
      // st_blocks counts 512-byte units on Linux whatever the file system's block size.
      bytes += stats.blocks * 512;
      if (bytes > stopAbove) over = true;
      else if (stats.isDirectory()) for (const name of await readdir(path)) below.push(join(path, name));
    });
    level = below;
  }
  return { bytes, complete: !over };
}

/** Refuses a job directory over the limit: throws WorkspaceQuotaError naming its size and WORKSPACE_MAX_MB. */
export async function checkDiskQuota(what: string, dirs: readonly string[], limitBytes: number): Promise<void> {
  const usage = await measureDiskUsage(dirs, { stopAboveBytes: limitBytes });
  if (usage.bytes > limitBytes) throw new WorkspaceQuotaError(what, usage, limitBytes);
}

/** "takes 150.0 MB", or "takes at least 4096.1 MB" for a walk that stopped early. */
export function describeDiskUsage(usage: DiskUsage): string {
  return `takes ${usage.complete ? "" : "at least "}${formatMegabytes(usage.bytes)}`;
}

function formatMegabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
