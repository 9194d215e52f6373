import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { chooseMirrorsToEvict, evictMirrors, listMirrors, type MirrorEntry } from "../../../src/github/repo-mirror.js";

const now = new Date("2025-06-10T00:00:00Z");
const day = 24 * 60 * 60 * 1000;
const daysAgo = (days: number): Date => new Date(now.getTime() - days * day);

function mirror(name: string, bytes: number, lastUsedAt: Date | null, inUse = false): MirrorEntry {
  return { name, bytes, lastUsedAt, inUse };
}

describe("chooseMirrorsToEvict", () => {
  it("removes mirrors unused for longer than the age limit, and those of unknown age", () => {
    const chosen = chooseMirrorsToEvict(
      [mirror("1.git", 10, daysAgo(2)), mirror("2.git", 10, daysAgo(40)), mirror("3.git", 10, null)],
      { maxBytes: 1000, maxAgeMs: 30 * day, now },
    );
    expect(chosen).toEqual(["2.git", "3.git"]);
  });

  it("removes the least recently used until the rest fit in the size limit", () => {
    const chosen = chooseMirrorsToEvict(
      [mirror("1.git", 40, daysAgo(1)), mirror("2.git", 40, daysAgo(3)), mirror("3.git", 40, daysAgo(2))],
      { maxBytes: 50, maxAgeMs: 30 * day, now },
    );
    expect(chosen.sort()).toEqual(["2.git", "3.git"]);
  });

  it("keeps a mirror in use whatever its age or size", () => {
    const chosen = chooseMirrorsToEvict([mirror("1.git", 500, daysAgo(90), true), mirror("2.git", 10, daysAgo(1))], {
      maxBytes: 100,
      maxAgeMs: 30 * day,
      now,
    });
    expect(chosen).toEqual(["2.git"]);
  });

  it("keeps everything within both limits", () => {
    const mirrors = [mirror("1.git", 10, daysAgo(1)), mirror("2.git", 10, daysAgo(29))];
    expect(chooseMirrorsToEvict(mirrors, { maxBytes: 20, maxAgeMs: 30 * day, now })).toEqual([]);
  });
});

describe("evictMirrors", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function makeMirror(name: string, bytes: number, lastUsedAt: Date): Promise<void> {
    await mkdir(join(dir!, name, "objects"), { recursive: true });
    await writeFile(join(dir!, name, "objects", "data"), Buffer.alloc(bytes));
    await writeFile(
      join(dir!, name, "foreman-mirror.json"),
      JSON.stringify({ repoId: 1, lastUsedAt: lastUsedAt.toISOString() }),
    );
  }

  it("measures the mirrors on disk and removes the ones chosen, leaving other directories alone", async () => {
    dir = await mkdtemp(join(tmpdir(), "foreman-mirrors-"));
    await makeMirror("1.git", 3000, daysAgo(1));
    await makeMirror("2.git", 3000, daysAgo(5));
    await makeMirror("3.git", 10, daysAgo(60));
    await mkdir(join(dir, "not-a-mirror"));

    const listed = await listMirrors(dir);
    expect(listed.find((entry) => entry.name === "1.git")?.bytes).toBeGreaterThanOrEqual(3000);

    const removed = await evictMirrors(dir, { maxBytes: 4000, maxAgeMs: 30 * day, now });
    expect(removed.sort()).toEqual(["2.git", "3.git"]);
    expect((await readdir(dir)).sort()).toEqual(["1.git", "not-a-mirror"]);
  });
});
