// Write pacing: 200 tasks of one installation, their GitHub writes paced by Foreman's pacer
// (src/engine/database-write-pacer.ts over the `github_write_pace` row) from two replicas (two
// Octokit classes, each with its own database pool), against a GitHub simulated over HTTP that
// enforces the secondary limit: more than BENCH_LIMIT content-creating requests within one
// simulated minute are refused with 403 and `retry-after`.
//
// Scaled so it runs in under a minute: one simulated minute is BENCH_MINUTE_MS (1000 ms) of real
// time, GitHub's limit is 80 a (simulated) minute, and Foreman paces at BENCH_PACE_PER_MINUTE
// (60) a minute with a burst of BENCH_BURST (5): a window of one minute sees at most 5 + 60 = 65.
// The margin is for timers and HTTP that deliver a slot late (scaled 60 times, a 100 ms stall of
// this process is 6 simulated seconds; at 70 a minute, stalls on a loaded machine cost refusals).
// (Production paces by the hour, GITHUB_WRITES_PER_HOUR = 420 and GITHUB_WRITE_BURST = 60, for
// GitHub's 500 an hour as well; an hour does not fit into a minute's benchmark.) Each task makes
// BENCH_WRITES_PER_TASK (15, what `npm run bench:happy` measures) writes in turn, over
// BENCH_REPOS repositories, BENCH_IN_FLIGHT tasks at a time.
//
// Run: npm run bench:pacing   (DATABASE_URL to use a server, else embedded PostgreSQL)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { Probot } from "probot";
import { openDatabase } from "../../src/db/client.js";
import { buildDatabaseWritePacer } from "../../src/engine/database-write-pacer.js";
import { buildOctokitClass, type GitHubClient } from "../../src/github/octokit.js";
import type { WritePacer } from "../../src/github/write-pacer.js";
import { TEST_PRIVATE_KEY } from "../../test/helpers/test-foreman.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { fmt, quantile } from "../lib/stats.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const WRITES_PER_TASK = Number(process.env.BENCH_WRITES_PER_TASK ?? 15);
const REPOS = Number(process.env.BENCH_REPOS ?? 4);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 40);
const MINUTE_MS = Number(process.env.BENCH_MINUTE_MS ?? 1000);
const LIMIT = Number(process.env.BENCH_LIMIT ?? 80);
const PACE_PER_MINUTE = Number(process.env.BENCH_PACE_PER_MINUTE ?? 60);
const BURST = Number(process.env.BENCH_BURST ?? 5);
const INSTALLATION_ID = 4242;

/** GitHub, simulated: the installation token, and writes refused past LIMIT in any sliding minute. */
function startGitHub() {
  const accepted: number[] = [];
  let refused = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on("end", () => {
      const send = (status: number, body: object, headers: Record<string, string> = {}) => {
        response.writeHead(status, { "content-type": "application/json", ...headers });
        response.end(JSON.stringify(body));
      };
      if (request.url?.startsWith("/app/installations/"))
        return send(201, { token: "ghs_bench", expires_at: new Date(Date.now() + 3_600_000).toISOString() });
      if (request.method === "GET") return send(200, {});
      const now = Date.now();
      while (accepted.length > 0 && accepted[0]! <= now - MINUTE_MS) accepted.shift();
      if (accepted.length >= LIMIT) {
        refused += 1;
        refusedAt.push(now);
        return send(403, { message: "You have exceeded a secondary rate limit." }, { "retry-after": "1" });
      }
      accepted.push(now);
      allAccepted.push(now);
      send(201, { id: allAccepted.length });
    });
  });
  const allAccepted: number[] = [];
  const refusedAt: number[] = [];
  return {
    refusedAt,
    server,
    allAccepted,
    refusals: () => refused,
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
      ),
  };
}

async function main(): Promise<void> {
  const { database, where, close } = await openBenchDatabase();
  const github = startGitHub();
  const port = await github.listen();
  await database.sql`delete from github_write_pace where installation_id = ${INSTALLATION_ID}`;
  const settings = { intervalSeconds: 60 / PACE_PER_MINUTE / (60_000 / MINUTE_MS), burst: BURST };
  const replicaPools = [openDatabase(database.url), openDatabase(database.url)];
  const clients: GitHubClient[] = [];
  for (const pool of replicaPools) {
    const pacer: WritePacer = buildDatabaseWritePacer(pool.sql, settings);
    const probot = new Probot({
      appId: 12345,
      privateKey: TEST_PRIVATE_KEY,
      baseUrl: `http://127.0.0.1:${port}`,
      log: pino({ level: "silent" }),
      Octokit: buildOctokitClass({ retries: 0, retryAfterBaseValue: 1, throttle: false }, { timeoutMs: 30_000, pacer }),
    });
    clients.push((await probot.auth(INSTALLATION_ID)) as GitHubClient);
  }
  console.log(
    `write pacing: ${TASKS} tasks × ${WRITES_PER_TASK} writes, one installation, ${REPOS} repositories, ${IN_FLIGHT} in flight, 2 replicas; ${where}`,
  );
  console.log(
    `  scaled: 1 simulated minute = ${MINUTE_MS} ms; GitHub refuses (403 + retry-after) past ${LIMIT} writes a minute; Foreman paces ${PACE_PER_MINUTE} a minute, burst ${BURST}`,
  );

  const waits: number[] = [];
  const waitsByRepo = new Map<number, number[]>();
  let failed = 0;
  let next = 0;
  const started = Date.now();
  async function runTask(index: number): Promise<void> {
    const client = clients[index % clients.length]!;
    const repo = index % REPOS;
    const begin = Date.now();
    for (let write = 0; write < WRITES_PER_TASK; write += 1) {
      try {
        await client.request("POST /repos/{owner}/{repo}/issues/{issue_number}/comments", {
          owner: "bench",
          repo: `repo-${repo}`,
          issue_number: index + 1,
          body: `write ${write}`,
        });
      } catch {
        failed += 1;
      }
    }
    // The task's time from its first write to its last answer: almost all of it is waiting its
    // turn (an answer of the simulated GitHub takes about a millisecond).
    const waited = Date.now() - begin;
    waits.push(waited);
    waitsByRepo.set(repo, [...(waitsByRepo.get(repo) ?? []), waited]);
  }
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < TASKS) await runTask(next++);
    }),
  );
  const elapsedMs = Date.now() - started;

  const accepted = github.allAccepted;
  let busiest = 0;
  for (let i = 0, j = 0; j < accepted.length; j += 1) {
    while (accepted[j]! - accepted[i]! >= MINUTE_MS) i += 1;
    busiest = Math.max(busiest, j - i + 1);
  }
  const perMinute = (accepted.length / elapsedMs) * MINUTE_MS;
  console.log(
    `  writes made: ${accepted.length} in ${fmt(elapsedMs / 1000)} s real (${fmt(elapsedMs / MINUTE_MS)} simulated minutes)`,
  );
  console.log(
    `  writes per simulated minute: mean ${fmt(perMinute)}, busiest sliding minute ${busiest}   target ≤ ${LIMIT}: ${busiest <= LIMIT ? "met" : "NOT met"}`,
  );
  if (github.refusedAt.length > 0)
    console.log(
      `  refusals at (s after the start): ${github.refusedAt.map((at) => fmt((at - started) / 1000)).join(", ")}`,
    );
  console.log(
    `  secondary-limit refusals: ${github.refusals()}   target 0: ${github.refusals() === 0 ? "met" : "NOT met"}; failed writes: ${failed}`,
  );
  const inMinutes = (ms: number) => fmt(ms / MINUTE_MS);
  console.log(
    `  task wait (simulated minutes, first write → last answer): p50 ${inMinutes(quantile(waits, 0.5))}  p95 ${inMinutes(quantile(waits, 0.95))}  max ${inMinutes(Math.max(...waits))}`,
  );
  for (const [repo, list] of [...waitsByRepo.entries()].sort((a, b) => a[0] - b[0]))
    console.log(
      `    repo-${repo}: ${list.length} tasks, wait p50 ${inMinutes(quantile(list, 0.5))}  max ${inMinutes(Math.max(...list))}`,
    );
  const unpaced = (TASKS * WRITES_PER_TASK) / LIMIT;
  console.log(
    `  floor: ${TASKS * WRITES_PER_TASK} writes at GitHub's ${LIMIT} a minute take ${fmt(unpaced)} simulated minutes`,
  );

  github.server.close();
  await Promise.all(replicaPools.map((pool) => pool.close()));
  await close();
}

await main();
