import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FileArtifactStore } from "../../src/compliance/artifacts.js";
import { openDatabase, type Database } from "../../src/db/client.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import { insertArtifact } from "../../src/db/queries/insert-artifact.js";
import { mockGitHub, mockLabelToDraftPr } from "../helpers/github-mock.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman } from "../helpers/test-foreman.js";

// Backup and restore as docs/operations.md describes it: scripts/backup.sh (the real pg_dump, then
// a copy of ARTIFACTS_DIR) → scripts/restore.sh into a fresh database → `foreman verify` through
// the package's bin → Foreman on the restored database moves the open task on.

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "foreman-backup-"));
const sourceArtifacts = join(work, "source-artifacts");
const restoredArtifacts = join(work, "restored-artifacts");
const backupDir = join(work, "backup");
let source: TestDatabase;
let restored: Database;
let restoredUrl: string;
let artifactSha = "";

function run(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: ROOT, env: { PATH: process.env.PATH, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

function verify(artifactsDir: string) {
  return run(process.execPath, ["bin/foreman.js", "verify"], {
    DATABASE_URL: restoredUrl,
    ARTIFACTS_DIR: artifactsDir,
    LOG_LEVEL: "silent",
    FOREMAN_FROM_SOURCE: "1",
  });
}

beforeAll(async () => {
  source = await createTestDatabase();
  // 1. Real state: a task through label → draft PR (its compliance records), a record naming a
  //    stored artifact, and a second issue's label stored in the inbox but not yet applied (the
  //    replica stopped first): open work a restore must resume.
  const foreman = await startTestForeman(source, { env: buildTestEnv({ ARTIFACTS_DIR: sourceArtifacts }) });
  const github = mockGitHub().token();
  mockLabelToDraftPr(github, 1, 7);
  await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
  await foreman.settle();
  const stored = await new FileArtifactStore(sourceArtifacts).put(Buffer.from("the plan, as evidence\n"), "plan");
  artifactSha = stored.sha256;
  await insertArtifact(source.sql, { sha256: stored.sha256, kind: "plan", size: stored.size });
  await source.sql.begin((tx) =>
    appendComplianceRecords(tx, [
      {
        taskId: null,
        kind: "operator.action",
        actor: "operator:alice",
        payload: { note: "backup drill", artifacts: [{ sha256: stored.sha256, kind: "plan" }] },
        createdAt: new Date(),
      },
    ]),
  );
  await foreman.stop();
  await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 2 }));
  const [pending] = await source.sql<
    { n: number }[]
  >`select count(*)::int as n from webhook_deliveries where status = 'pending'`;
  expect(pending!.n).toBe(1);

  // 2. Back up, restore into a fresh database and directory.
  const backup = await run("bash", ["scripts/backup.sh", backupDir], {
    DATABASE_URL: source.url,
    ARTIFACTS_DIR: sourceArtifacts,
  });
  expect(backup, backup.stderr).toMatchObject({ code: 0 });
  const parsed = new URL(source.url);
  const name = `foreman_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(source.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  parsed.pathname = `/${name}`;
  restoredUrl = parsed.toString();
  const restore = await run("bash", ["scripts/restore.sh", backupDir], {
    DATABASE_URL: restoredUrl,
    ARTIFACTS_DIR: restoredArtifacts,
  });
  expect(restore, restore.stderr).toMatchObject({ code: 0 });
  restored = openDatabase(restoredUrl);
}, 120_000);

afterAll(async () => {
  await restored?.close();
  const admin = postgres(source.url, { max: 1, onnotice: () => {} });
  if (restoredUrl) await admin.unsafe(`drop database if exists ${new URL(restoredUrl).pathname.slice(1)} with (force)`);
  await admin.end();
  await source.drop();
  rmSync(work, { recursive: true, force: true });
});

describe("backup and restore", () => {
  test("foreman verify on the restored database and artifact copy says OK, with every record and the artifact checked", async () => {
    const [count] = await source.sql<{ n: number }[]>`select count(*)::int as n from compliance_records`;
    const result = await verify(restoredArtifacts);
    expect(result, result.stderr).toMatchObject({ code: 0 });
    expect(result.stdout).toContain("Compliance trail: OK");
    expect(result.stdout).toContain(String(count!.n));
    expect(result.stdout).toMatch(/artifacts +1 checked/);
  });

  test("Foreman on the restored database moves the open task on: exactly the label → draft PR writes of issue 2", async () => {
    const foreman = await startTestForeman(restored, { env: buildTestEnv({ ARTIFACTS_DIR: restoredArtifacts }) });
    try {
      const github = mockGitHub().token();
      mockLabelToDraftPr(github, 2, 8);
      foreman.worker.wake();
      await expect
        .poll(
          async () =>
            (await restored.sql`select state, pr_number from tasks where issue_number = 2`).map((row) => ({ ...row })),
          { timeout: 60_000, interval: 200 },
        )
        .toEqual([{ state: "awaiting_agent", pr_number: 8 }]);
      await foreman.settle();
    } finally {
      await foreman.stop();
    }
    const result = await verify(restoredArtifacts);
    expect(result, result.stderr).toMatchObject({ code: 0 });
  });

  test("a restore without the artifact file fails verify, naming the missing artifact", async () => {
    const store = new FileArtifactStore(restoredArtifacts);
    unlinkSync(store.pathOf(artifactSha));
    const result = await verify(restoredArtifacts);
    expect(result.code).not.toBe(0);
    expect(result.stdout + result.stderr).toContain(
      `artifact ${artifactSha} (plan) is missing from the artifact store`,
    );
  });
});
