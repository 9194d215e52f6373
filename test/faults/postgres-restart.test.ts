import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { openDatabase, type Database } from "../../src/db/client.js";
import { startEmbeddedPostgres, startEmbeddedPostgresOnAnyPort, type EmbeddedDatabase } from "../../src/db/embedded.js";
import { runMigrations } from "../../src/db/migrate.js";
import { REPO } from "../helpers/github-mock.js";
import { startFakeGitHubServer, type FakeGitHubServer } from "../helpers/fake-github-server.js";
import { buildFaultEnv, buildFaultRow, resetWorld, runLoop, startFaultForeman, type LoopRun } from "./fault-run.js";

// The loop on an embedded PostgreSQL of its own, which is stopped and started again (same data,
// same port) while the tasks are half-way: every task must still get one draft PR.

const TASKS = 10;
let dataDir: string;
let server: EmbeddedDatabase;
let port: number;
let database: Database;
let github: FakeGitHubServer;
let clean: LoopRun | null = null;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "foreman-pg-fault-"));
  server = await startEmbeddedPostgresOnAnyPort({ dataDir, database: "foreman" });
  port = Number(new URL(server.url).port);
  database = openDatabase(server.url);
  await runMigrations(database);
  github = await startFakeGitHubServer(REPO.owner, REPO.name);
});
afterAll(async () => {
  await github?.close();
  await database?.close();
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** Once GitHub has the first draft PR (the tasks are under way), stop PostgreSQL and start it again. */
async function restartMidRun(): Promise<void> {
  while (github.pulls.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  await server.stop();
  server = await startEmbeddedPostgres({ dataDir, database: "foreman", port });
}

test("no restart (the baseline)", async ({ task }) => {
  await resetWorld(database, github, null);
  const foreman = await startFaultForeman(database, buildFaultEnv(github));
  try {
    clean = await runLoop(database, github, foreman, TASKS);
  } finally {
    await foreman.stop();
  }
  task.meta.faultRow = buildFaultRow("none (embedded PostgreSQL)", clean, clean, 0);
  expect(clean.lost).toBe(0);
});

test("PostgreSQL restarted mid-run: every task gets one draft PR, nothing twice", async ({ task }) => {
  await resetWorld(database, github, null);
  const foreman = await startFaultForeman(database, buildFaultEnv(github));
  let run: LoopRun;
  let pullsAtRestart = 0;
  try {
    run = await runLoop(database, github, foreman, TASKS, async () => {
      await restartMidRun();
      pullsAtRestart = github.pulls.length;
    });
  } finally {
    await foreman.stop();
  }
  task.meta.faultRow = buildFaultRow("PostgreSQL restarted mid-run", run, clean, 1);
  // The restart came while tasks were still open.
  expect(pullsAtRestart).toBeLessThan(TASKS);
  expect(run.duplicates).toBe(0);
  expect(run.lost).toBe(0);
  expect(github.unrouted).toEqual([]);
});
