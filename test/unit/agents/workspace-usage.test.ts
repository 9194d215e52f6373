import { randomBytes } from "node:crypto";
import { link, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkDiskQuota, measureDiskUsage, WorkspaceQuotaError } from "../../../src/agents/workspace-usage.js";

const MiB = 1024 * 1024;

describe("measureDiskUsage", () => {
  let dir: string;
  let outside: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "foreman-usage-"));
    outside = await mkdtemp(join(tmpdir(), "foreman-usage-outside-"));
    await mkdir(join(dir, "src"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it("counts the data written, however deep", async () => {
    const before = await measureDiskUsage([dir]);
    await writeFile(join(dir, "src", "data.bin"), randomBytes(3 * MiB));
    const after = await measureDiskUsage([dir]);
    expect(after.complete).toBe(true);
    expect(after.bytes - before.bytes).toBeGreaterThanOrEqual(3 * MiB);
  });

  it("counts a sparse file by the blocks it really has, not its apparent size", async () => {
    const before = await measureDiskUsage([dir]);
    await writeFile(join(dir, "sparse.bin"), "");
    await truncate(join(dir, "sparse.bin"), 4 * 1024 * MiB);
    const after = await measureDiskUsage([dir]);
    expect(after.bytes - before.bytes).toBeLessThan(MiB);
  });

  it("counts a file with several hard links once and does not follow symlinks", async () => {
    await writeFile(join(dir, "data.bin"), randomBytes(2 * MiB));
    await writeFile(join(outside, "big.bin"), randomBytes(2 * MiB));
    const before = await measureDiskUsage([dir]);
    await link(join(dir, "data.bin"), join(dir, "src", "again.bin"));
    await symlink(join(outside, "big.bin"), join(dir, "big-link"));
    await symlink(outside, join(dir, "outside-link"));
    const after = await measureDiskUsage([dir]);
    // The symlinks' own blocks at most (a short target fits in the inode).
    expect(after.bytes - before.bytes).toBeLessThan(64 * 1024);
  });

  it("stops as soon as the count passes the limit and says so", async () => {
    await writeFile(join(dir, "a.bin"), randomBytes(2 * MiB));
    await writeFile(join(dir, "src", "b.bin"), randomBytes(2 * MiB));
    const usage = await measureDiskUsage([dir], { stopAboveBytes: MiB });
    expect(usage.complete).toBe(false);
    expect(usage.bytes).toBeGreaterThan(MiB);
    expect(usage.bytes).toBeLessThan(4 * MiB);
  });

  it("refuses a tree over the quota naming its size and the setting, and passes one within it", async () => {
    await writeFile(join(dir, "a.bin"), randomBytes(3 * MiB));
    await expect(checkDiskQuota("the workspace", [dir], 100 * MiB)).resolves.toBeUndefined();
    const error = await checkDiskQuota("the workspace", [dir], 2 * MiB).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WorkspaceQuotaError);
    expect((error as Error).message).toMatch(
      /^the workspace takes (at least )?3\.\d MB on disk, over the limit of 2\.0 MB \(WORKSPACE_MAX_MB\)$/,
    );
  });
});
