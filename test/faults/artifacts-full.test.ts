import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { FileArtifactStore, storeRedactedArtifact } from "../../src/compliance/artifacts.js";
import { useTestDatabase } from "../helpers/test-database.js";

// ARTIFACTS_DIR on a 2 MB tmpfs (needs root: `mount -t tmpfs`), filled up: storing evidence fails
// with ENOSPC, leaves no temporary file and no `artifacts` row, and works again once space is back.

const database = useTestDatabase();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "foreman-artifacts-full-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir]);
});
afterAll(async () => {
  execFileSync("umount", [dir]);
  await rm(dir, { recursive: true, force: true });
});

/** Every file under the store, temporary ones included, as `ab/cdef…` or `ab/.tmp-…`. */
async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true }))
    if (entry.isFile()) found.push(join(entry.parentPath, entry.name).slice(root.length + 1));
  return found;
}

test("ARTIFACTS_DIR full: a clear ENOSPC, nothing half-written, and recovery once space is back", async ({ task }) => {
  const store = new FileArtifactStore(join(dir, "artifacts"));
  const filler = join(dir, "filler");
  // Leave less room than one artifact needs.
  await writeFile(filler, Buffer.alloc(1_700_000));
  const text = randomBytes(300_000).toString("hex");

  const failure = await storeRedactedArtifact(store, database.sql, text, "agent-log", []).catch(
    (error: unknown) => error as NodeJS.ErrnoException,
  );
  expect(failure).toBeInstanceOf(Error);
  expect((failure as NodeJS.ErrnoException).code).toBe("ENOSPC");
  expect(await listFiles(store.root)).toEqual([]);
  const [before] = await database.sql<{ n: number }[]>`select count(*)::int as n from artifacts`;
  expect(before!.n).toBe(0);

  await rm(filler);
  const stored = await storeRedactedArtifact(store, database.sql, text, "agent-log", []);
  expect((await store.get(stored.sha256))?.toString("utf8")).toBe(text);
  const files = await listFiles(store.root);
  expect(files).toEqual([`${stored.sha256.slice(0, 2)}/${stored.sha256.slice(2)}`]);
  const rows = await database.sql<{ sha256: string }[]>`select sha256 from artifacts`;
  expect(rows.map((row) => row.sha256)).toEqual([stored.sha256]);
  task.meta.faultRow = {
    fault: "ARTIFACTS_DIR full (2 MB tmpfs)",
    tasks: 1,
    finished: 1,
    duplicates: 0,
    lost: 0,
    p95Ms: null,
    addedP95Ms: null,
    injected: 1,
  };
});
