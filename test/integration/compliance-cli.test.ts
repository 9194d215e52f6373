import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { FileArtifactStore } from "../../src/compliance/artifacts.js";
import { createTempArtifactStore, seedTrail } from "../helpers/compliance-fixtures.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
let database: TestDatabase;
let store: FileArtifactStore;

beforeAll(async () => {
  database = await createTestDatabase();
  store = createTempArtifactStore();
  await seedTrail(database.sql, store);
});
afterAll(async () => {
  await database.drop();
});

/** Run the real `foreman` command (through tsx) against the test database; resolve with its exit code and output. */
function foreman(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATABASE_URL: database.url,
    ARTIFACTS_DIR: store.root,
    LOG_LEVEL: "silent",
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "src/cli/main.ts", ...args],
      { cwd: ROOT, env },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

describe("the foreman command", () => {
  test("verify: exit 0 on a good trail, 1 naming the first bad record, 2 on a usage error", async () => {
    const good = await foreman("verify");
    expect(good).toMatchObject({ code: 0 });
    expect(good.stdout).toContain("Compliance trail: OK");

    await database.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update compliance_records set payload = '{"to":"merged!"}' where seq = 8`;
    });
    const bad = await foreman("verify", "--json");
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).failure.seq).toBe(8);

    expect((await foreman("verify", "--nope")).code).toBe(2);
    expect(await foreman("verify", "--help")).toMatchObject({
      code: 0,
      stdout: expect.stringContaining("Usage: foreman verify"),
    });
  });

  test("keys generate prints an Ed25519 key pair; tokens create prints a token once", async () => {
    const keys = await foreman("keys", "generate");
    expect(keys.code).toBe(0);
    expect(keys.stdout).toMatch(/-----BEGIN PRIVATE KEY-----[\s\S]+-----BEGIN PUBLIC KEY-----/);
    const token = await foreman("tokens", "create", "--name", "ci", "--role", "auditor");
    expect(token.code).toBe(0);
    expect(token.stdout).toMatch(/^fmn_[A-Za-z0-9_-]{43}$/m);
    expect((await foreman("keys")).code).toBe(2);
  });
});
