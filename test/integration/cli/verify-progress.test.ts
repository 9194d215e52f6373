import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, test } from "vitest";
import { appendComplianceRecords } from "../../../src/db/queries/append-compliance-record.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";

// `foreman verify` over a long chain reports its progress on stderr (with --progress, or on a
// terminal), page by page, and keeps stdout for the report. Run through the package's bin.

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const RECORDS = 250;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  const at = new Date("2026-11-20T12:00:00.000Z");
  await appendComplianceRecords(
    database.sql,
    Array.from({ length: RECORDS }, (_, index) => ({
      taskId: null,
      kind: "system.paused",
      actor: "operator:alice",
      payload: { reason: `drill ${index + 1}` },
      createdAt: at,
    })),
  );
});
afterAll(async () => {
  await database.drop();
});

function foreman(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    DATABASE_URL: database.url,
    LOG_LEVEL: "silent",
    FOREMAN_FROM_SOURCE: "1",
  };
  return new Promise((resolve) => {
    execFile(process.execPath, ["bin/foreman.js", ...args], { cwd: ROOT, env }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

test("verify --progress: one line per page on stderr, the report alone on stdout", async () => {
  const result = await foreman("verify", "--progress", "--page-size", "60");
  expect(result.code).toBe(0);
  expect(result.stderr.split("\n")).toEqual([
    "verified 60 of 250 records (24%)",
    "verified 120 of 250 records (48%)",
    "verified 180 of 250 records (72%)",
    "verified 240 of 250 records (96%)",
    "verified 250 of 250 records (100%)",
    "",
  ]);
  expect(result.stdout).toContain(`Compliance trail: OK\n  records      ${RECORDS} (seq 1-${RECORDS}), head `);
});

test("without --progress and without a terminal, stderr stays empty", async () => {
  const result = await foreman("verify", "--page-size", "60");
  expect(result).toMatchObject({ code: 0, stderr: "" });
  expect(result.stdout).toContain("Compliance trail: OK");
});
