// Recovery after SIGKILL: a Foreman process is killed right after GitHub made the task's branch
// (before Foreman heard back), and the task must move again. Prints how long that took: from the
// restart of a process on the same database (same REPLICA_ID), and from the death when a second
// replica survives it; against the 5 s target. Leases last 60 s as in production, and the poll
// interval is production's 1 s. Run: npm run bench:recovery  (BENCH_RUNS, default 3; DATABASE_URL
// to use a server, else embedded PostgreSQL).
import { REPO } from "../../test/helpers/github-mock.js";
import { startFakeGitHubServer, type FakeGitHubServer } from "../../test/helpers/fake-github-server.js";
import { spawnForemanProcess, type ForemanProcess } from "../../test/helpers/spawn-foreman-process.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { fmt, quantile } from "../lib/stats.js";

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const LEASE_MS = 60_000;
const POLL_MS = 1000;
const TARGET_MS = 5000;

const github = await startFakeGitHubServer(REPO.owner, REPO.name);

/** Resolve at the first request matching `match`, with its time (performance.now()). */
function nextRequest(server: FakeGitHubServer, match: (method: string, path: string) => boolean): Promise<number> {
  return new Promise((resolve) =>
    server.setOnRequest((method, path) => {
      if (!match(method, path)) return;
      server.setOnRequest(null);
      resolve(performance.now());
    }),
  );
}

/** Kill `byReplica`'s process whose effect is making the branch, once GitHub made it; resolves with the time it died. */
function killAtBranchWrite(
  bench: Awaited<ReturnType<typeof openBenchDatabase>>,
  byReplica: Map<string, ForemanProcess>,
): Promise<{ diedAt: number; replica: string }> {
  return new Promise((resolve) =>
    github.setOnWrite(async (write) => {
      if (!write.path.endsWith("/git/refs")) return "answer";
      github.setOnWrite(null);
      const [leased] = await bench.database.sql<{ locked_by: string }[]>`
        select locked_by from effects where status = 'running' and kind = 'ensure_branch'`;
      await byReplica.get(leased!.locked_by)!.kill();
      resolve({ diedAt: performance.now(), replica: leased!.locked_by });
      return "drop";
    }),
  );
}

const isRetry = (method: string, path: string) => method === "GET" && path.includes("/git/ref/heads/");
const isDraftPr = (method: string, path: string) => method === "POST" && path.endsWith("/pulls");

async function measureRestart(): Promise<{ fromSpawn: number; ready: number; toPr: number }> {
  const bench = await openBenchDatabase();
  github.reset();
  const spawnOne = (deliver: boolean) =>
    spawnForemanProcess({
      databaseUrl: bench.database.url,
      githubHost: github.host,
      replica: "foreman-1",
      leaseMs: LEASE_MS,
      pollMs: POLL_MS,
      deliver,
    });
  const first = spawnOne(true);
  await killAtBranchWrite(bench, new Map([["foreman-1", first]]));
  const retried = nextRequest(github, isRetry);
  const spawnedAt = performance.now();
  const second = spawnOne(false);
  let readyAt = 0;
  void second.ready.then(() => (readyAt = performance.now()));
  const retriedAt = await retried;
  const prAt = await nextRequest(github, isDraftPr);
  await second.ready;
  await second.kill();
  await bench.close();
  return { fromSpawn: retriedAt - spawnedAt, ready: readyAt - spawnedAt, toPr: prAt - spawnedAt };
}

async function measureSurvivor(): Promise<{ fromDeath: number; toPr: number }> {
  const bench = await openBenchDatabase();
  github.reset();
  const spawnOne = (replica: string, deliver: boolean) =>
    spawnForemanProcess({
      databaseUrl: bench.database.url,
      githubHost: github.host,
      replica,
      leaseMs: LEASE_MS,
      pollMs: POLL_MS,
      deliver,
    });
  const b = spawnOne("foreman-b", false);
  await b.ready;
  const a = spawnOne("foreman-a", true);
  const died = await killAtBranchWrite(
    bench,
    new Map([
      ["foreman-a", a],
      ["foreman-b", b],
    ]),
  );
  const retriedAt = await nextRequest(github, isRetry);
  const prAt = await nextRequest(github, isDraftPr);
  await Promise.all([a.kill(), b.kill()]);
  await bench.close();
  return { fromDeath: retriedAt - died.diedAt, toPr: prAt - died.diedAt };
}

const restarts: Array<Awaited<ReturnType<typeof measureRestart>>> = [];
const survivors: Array<Awaited<ReturnType<typeof measureSurvivor>>> = [];
for (let run = 0; run < RUNS; run += 1) {
  restarts.push(await measureRestart());
  survivors.push(await measureSurvivor());
}
await github.close();

const line = (label: string, values: number[]) =>
  console.log(
    `${label.padEnd(58)} p50 ${fmt(quantile(values, 0.5)).padStart(8)} ms   max ${fmt(Math.max(...values)).padStart(8)} ms   ${
      Math.max(...values) <= TARGET_MS ? "within" : "OVER"
    } the ${TARGET_MS / 1000} s target`,
  );
console.log(
  `Recovery after SIGKILL at the branch write (${RUNS} runs, lease ${LEASE_MS / 1000} s, poll ${POLL_MS} ms)`,
);
line(
  "restart → effect retried (from the new process's spawn)",
  restarts.map((r) => r.fromSpawn),
);
line(
  "restart → new process started (node, tsx, Probot, pools)",
  restarts.map((r) => r.ready),
);
line(
  "restart → draft PR opened (from spawn)",
  restarts.map((r) => r.toPr),
);
line(
  "survivor → effect retried (from the death)",
  survivors.map((r) => r.fromDeath),
);
line(
  "survivor → draft PR opened (from the death)",
  survivors.map((r) => r.toPr),
);
console.log(`before liveness: the lease had to run out first, ${LEASE_MS / 1000} s after the death`);
