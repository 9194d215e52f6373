import { execFileSync } from "node:child_process";
import { chmod, lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyTree, forEachLimited, listTree } from "../../../src/agents/file-tree.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "foreman-file-tree-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A small tree like a fresh .git: nested directories, a read-only file, an executable, links in and out. */
async function buildTree(root: string): Promise<void> {
  await mkdir(join(root, "objects", "ab"), { recursive: true });
  await mkdir(join(root, "refs", "heads"), { recursive: true });
  await writeFile(join(root, "HEAD"), "ref: refs/heads/main\n");
  await writeFile(join(root, "objects", "ab", "cdef"), "blob");
  await chmod(join(root, "objects", "ab", "cdef"), 0o444);
  await writeFile(join(root, "refs", "heads", "main"), "abc\n");
  await writeFile(join(root, "run.sh"), "#!/bin/sh\n");
  await chmod(join(root, "run.sh"), 0o755);
  await chmod(join(root, "refs"), 0o750);
  await symlink("refs/heads/main", join(root, "inside"));
  await symlink("../../elsewhere", join(root, "outside"));
}

describe("listTree", () => {
  test("lists every entry below the root, parents before children, links as links", async () => {
    await buildTree(dir);
    const entries = await listTree(dir);
    expect([...entries].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: "HEAD", kind: "file" },
      { path: "inside", kind: "symlink" },
      { path: "objects", kind: "directory" },
      { path: "objects/ab", kind: "directory" },
      { path: "objects/ab/cdef", kind: "file" },
      { path: "outside", kind: "symlink" },
      { path: "refs", kind: "directory" },
      { path: "refs/heads", kind: "directory" },
      { path: "refs/heads/main", kind: "file" },
      { path: "run.sh", kind: "file" },
    ]);
    const index = (path: string) => entries.findIndex((entry) => entry.path === path);
    expect(index("objects")).toBeLessThan(index("objects/ab"));
    expect(index("objects/ab")).toBeLessThan(index("objects/ab/cdef"));
  });
});

describe("copyTree", () => {
  test("copies contents, file and directory modes, and symlinks verbatim", async () => {
    const source = join(dir, "source");
    await mkdir(source);
    await buildTree(source);
    const target = join(dir, "target");
    await copyTree(source, target);

    expect(await listTree(target)).toHaveLength((await listTree(source)).length);
    expect(await readFile(join(target, "objects", "ab", "cdef"), "utf8")).toBe("blob");
    expect((await lstat(join(target, "objects", "ab", "cdef"))).mode & 0o777).toBe(0o444);
    expect((await lstat(join(target, "run.sh"))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(target, "refs"))).mode & 0o777).toBe(0o750);
    expect(await readlink(join(target, "inside"))).toBe("refs/heads/main");
    expect(await readlink(join(target, "outside"))).toBe("../../elsewhere");
  });

  test("refuses a tree holding something that is neither a file, a directory nor a symlink", async () => {
    const source = join(dir, "source");
    await mkdir(source);
    execFileSync("mkfifo", [join(source, "pipe")]);
    await expect(copyTree(source, join(dir, "target"))).rejects.toThrow(/pipe is neither a file/);
  });
});

describe("forEachLimited", () => {
  test("visits every item with at most the limit in flight, and rejects with the first failure", async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    await forEachLimited([1, 2, 3, 4, 5, 6, 7], 3, async (item) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(item);
      inFlight -= 1;
    });
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
    await expect(
      forEachLimited([1, 2, 3], 2, async (item) => {
        if (item === 2) throw new Error("two");
      }),
    ).rejects.toThrow("two");
  });
});
