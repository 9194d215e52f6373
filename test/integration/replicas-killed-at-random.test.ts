import { afterAll, beforeAll, expect, test } from "vitest";
import { expectChainVerifies } from "../helpers/expect-chain-verifies.js";
import { REPO } from "../helpers/github-mock.js";
import { startFakeGitHubServer, type FakeGitHubServer } from "../helpers/fake-github-server.js";
import { spawnForemanProcess, type ForemanProcess } from "../helpers/spawn-foreman-process.js";
import { createRandom } from "../helpers/seeded-random.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// Three Foreman processes on one PostgreSQL take TASKS labelled issues from label to draft PR with
// its status comment, while one of them, chosen at random, is killed with SIGKILL and started again
// under the same name every second or two. The randomness is seeded (CHAOS_SEED, else a
// fresh seed, printed): a failure is replayed with `CHAOS_SEED=<seed> npx vitest run <this file>`.
// Leases last ten minutes, so only liveness-based reclaim (docs/adr/0005) lets a killed process's
// work move on within the test. Agents are off (no containers): the loop stops at awaiting_agent.

const TASKS = 30;
const REPLICAS = ["chaos-a", "chaos-b", "chaos-c"];
const LEASE_MS = 10 * 60_000;
const database = useTestDatabase();
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
let github: FakeGitHubServer;
const running = new Map<string, ForemanProcess>();

beforeAll(async () => {
  // GitHub answers in 150 ms, so that effects are in flight when a process dies.
  github = await startFakeGitHubServer(REPO.owner, REPO.name, { latencyMs: 150 });
  await resetTables(database);
  await database.sql`truncate replicas`;
});
afterAll(async () => {
  await Promise.all([...running.values()].map((process) => process.kill()));
  await github?.close();
});

function start(replica: string, deliver = 0): ForemanProcess {
  const child = spawnForemanProcess({
    databaseUrl: database.url,
    githubHost: github.host,
    replica,
    leaseMs: LEASE_MS,
    deliver,
  });
  running.set(replica, child);
  return child;
}

/** Whether every task has its draft PR and nothing is left to run (a state, not a time). */
async function isDone(): Promise<boolean> {
  const [row] = await database.sql<{ done: boolean }[]>`
    select (select count(*) from tasks where state = 'awaiting_agent' and pr_number is not null) = ${TASKS}
           and not exists (select 1 from effects where status in ('pending', 'running'))
           and not exists (select 1 from webhook_deliveries where status = 'pending') as done`;
  return row?.done ?? false;
}

test(`${TASKS} tasks through three replicas, one killed at random every second or two`, async () => {
  console.log(`replicas killed at random: CHAOS_SEED=${seed}`);
  const random = createRandom(seed);
  // Two replicas run before the third delivers the label webhooks (each stored in the inbox before
  // "ready"); the kills start at once, among the replicas that are up, so they hit the work in flight.
  await Promise.all([start(REPLICAS[0]!).ready, start(REPLICAS[1]!).ready]);
  const up = new Set(REPLICAS.slice(0, 2));
  const delivered = start(REPLICAS[2]!, TASKS).ready.then(() => up.add(REPLICAS[2]!));

  const kills: string[] = [];
  while (!(await isDone())) {
    await new Promise((resolve) => setTimeout(resolve, 300 + Math.floor(random() * 1200)));
    if (await isDone()) break;
    const candidates = REPLICAS.filter((name) => up.has(name));
    const victim = candidates[Math.floor(random() * candidates.length)]!;
    await running.get(victim)!.kill();
    kills.push(victim);
    // Started again under the same name; the others carry on while it starts (a few seconds).
    await start(victim).ready;
  }
  await delivered;
  console.log(`replicas killed at random: ${kills.length} kills (${kills.join(", ")})`);
  expect(kills.length).toBeGreaterThan(0);

  // Every task reached its draft PR exactly once: one branch, one PR, one status comment per issue.
  const tasks = await database.sql<{ issue_number: number; pr_number: number; branch: string }[]>`
    select issue_number, pr_number, branch from tasks order by issue_number`;
  expect(tasks.map((task) => task.issue_number)).toEqual(Array.from({ length: TASKS }, (_, index) => index + 1));
  expect(new Set(tasks.map((task) => task.pr_number)).size).toBe(TASKS);
  expect(github.pulls.map((pr) => pr.head).sort()).toEqual(tasks.map((task) => task.branch).sort());
  for (const task of tasks) {
    const comments = github.comments.filter((comment) => comment.issue === task.issue_number);
    expect(comments.filter((comment) => comment.body.includes("<!-- foreman:status -->"))).toHaveLength(1);
  }

  // Zero duplicate creations, counted by endpoint (and by branch, PR head and issue: the markers).
  const creations = github.writes.filter((write) => write.method === "POST" && !write.path.endsWith("/labels"));
  const byEndpoint = new Map<string, number>();
  for (const write of creations) byEndpoint.set(write.path, (byEndpoint.get(write.path) ?? 0) + 1);
  const refs = `/repos/${REPO.owner}/${REPO.name}/git/refs`;
  const pulls = `/repos/${REPO.owner}/${REPO.name}/pulls`;
  expect(byEndpoint.get(refs)).toBe(TASKS);
  expect(byEndpoint.get(pulls)).toBe(TASKS);
  expect([...github.branches.keys()]).toHaveLength(TASKS);
  for (const [path, count] of byEndpoint)
    if (path !== refs && path !== pulls && !path.endsWith("/git/commits"))
      expect({ path, count }).toEqual({ path, count: 1 });
  expect(github.unrouted).toEqual([]);

  // Nothing is left leased or running, and the chain verifies.
  expect(await database.sql`select id from effects where status = 'running'`).toEqual([]);
  await expectChainVerifies(database.sql);
}, 300_000);
