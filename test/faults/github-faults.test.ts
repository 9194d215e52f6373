import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { REPO } from "../helpers/github-mock.js";
import { startFakeGitHubServer, type FakeGitHubServer, type GitHubFault } from "../helpers/fake-github-server.js";
import { useTestDatabase } from "../helpers/test-database.js";
import { buildFaultEnv, buildFaultRow, resetWorld, runLoop, startFaultForeman, type LoopRun } from "./fault-run.js";

// The loop from label to draft PR with GitHub failing 20% of its requests in one way per test,
// chosen by a fixed seed. Every task must end with its draft PR, and nothing may exist twice.

const TASKS = 10;
const RATE = 0.2;
const SEED = 14;
const database = useTestDatabase();
let github: FakeGitHubServer;
let clean: LoopRun | null = null;

beforeAll(async () => {
  github = await startFakeGitHubServer(REPO.owner, REPO.name);
});
afterAll(async () => {
  await github.close();
});

const FAULTS: Array<{ name: string; fault: GitHubFault }> = [
  { name: "500", fault: "500" },
  { name: "502", fault: "502" },
  { name: "503", fault: "503" },
  { name: "429 with retry-after", fault: "429" },
  { name: "secondary rate limit (403, retry-after)", fault: "secondary" },
  { name: "connection reset", fault: "reset" },
  { name: "answer slower than GITHUB_TIMEOUT_MS", fault: "slow" },
  { name: "write done, answered 502", fault: "committed-502" },
];

describe("GitHub faults on 20% of requests", () => {
  test("no faults (the baseline)", async ({ task }) => {
    await resetWorld(database, github, null);
    const foreman = await startFaultForeman(database, buildFaultEnv(github));
    try {
      clean = await runLoop(database, github, foreman, TASKS);
    } finally {
      await foreman.stop();
    }
    task.meta.faultRow = buildFaultRow("none", clean, clean, 0);
    expect(clean.lost).toBe(0);
    expect(clean.duplicates).toBe(0);
    expect(github.unrouted).toEqual([]);
  }, 120_000);

  test.for(FAULTS)("$name: every task gets one draft PR, nothing twice", async ({ name, fault }, { task }) => {
    await resetWorld(database, github, { fault, rate: RATE, seed: SEED, slowMs: 3_000 });
    const foreman = await startFaultForeman(database, buildFaultEnv(github));
    let run: LoopRun;
    try {
      run = await runLoop(database, github, foreman, TASKS);
    } finally {
      await foreman.stop();
    }
    task.meta.faultRow = buildFaultRow(name, run, clean, github.injected.length);
    expect(github.injected.length).toBeGreaterThan(0);
    // The write GitHub did but answered 502: at least one create (branch, PR, comment) among them.
    if (fault === "committed-502")
      expect(
        github.injected.some((hit) => hit.method === "POST" && /\/(git\/refs|pulls|comments)$/.test(hit.path)),
      ).toBe(true);
    expect(run.duplicates).toBe(0);
    expect(run.lost).toBe(0);
    expect(github.unrouted).toEqual([]);
  });
});
