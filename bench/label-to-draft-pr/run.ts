// Label → draft PR: ≥200 labelled issues through the real app (Probot, inbox, state machine,
// outbox, PostgreSQL) with GitHub answered in-process at zero latency. Prints the orchestration
// overhead from webhook receipt to the draft-PR request (p50/p95), and GitHub reads and writes per
// task beside the floor. Run: npm run bench:label  (DATABASE_URL to use a server; else embedded).
import { Writable } from "node:stream";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { buildTestEnv } from "../../test/helpers/test-foreman.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { createFakeGitHub } from "../lib/fake-github.js";
import { fmt, quantile } from "../lib/stats.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 200);
const WARMUP = 10;

const bench = await openBenchDatabase();
const github = createFakeGitHub("Codertocat", "Hello-World");
const silent = createLogger({
  level: process.env.BENCH_LOG ?? "warn",
  secrets: [],
  destination: process.env.BENCH_LOG ? process.stderr : new Writable({ write: (_c, _e, cb) => cb() }),
});
const foreman = await buildForeman({
  env: buildTestEnv({ WORKER_CONCURRENCY: "8", POLL_INTERVAL_MS: "1000" }),
  database: bench.database,
  log: silent,
  octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false, fetch: github.fetch as typeof fetch },
  worker: { listen: false },
});
await foreman.start({ listen: false, compliance: false });

const prRequestAt = new Map<number, number>();
const waiting = new Map<number, () => void>();
github.onRequest((request) => {
  if (request.method === "POST" && request.path.endsWith("/pulls") && request.issue !== null) {
    prRequestAt.set(request.issue, request.at);
    waiting.get(request.issue)?.();
  }
});

async function labelIssue(issue: number): Promise<number> {
  const seen = new Promise<void>((resolve) => waiting.set(issue, resolve));
  const payload = buildIssuesPayload({
    action: "labeled",
    label: "agent:ready",
    issueNumber: issue,
    title: `Benchmark issue ${issue}`,
  });
  const start = performance.now();
  await foreman.probot.receive({ id: `bench-${issue}`, name: "issues", payload } as never);
  await seen;
  return prRequestAt.get(issue)! - start;
}

// 1. Sequential: one label at a time, so each figure is the pipeline's own latency, not queueing.
for (let issue = 1; issue <= WARMUP; issue += 1) await labelIssue(issue);
await foreman.worker.whenIdle();
const sequential: number[] = [];
const perTask: Array<{ reads: number; writes: number }> = [];
for (let issue = WARMUP + 1; issue <= WARMUP + TASKS; issue += 1) {
  const before = github.requests.length;
  sequential.push(await labelIssue(issue));
  // Let the task finish (label, status comment) before the next one, so every call is counted to it.
  await foreman.worker.whenIdle();
  const calls = github.requests.slice(before).filter((request) => !request.path.includes("access_tokens"));
  perTask.push({
    reads: calls.filter((request) => request.method === "GET").length,
    writes: calls.filter((request) => request.method !== "GET").length,
  });
  if (process.env.BENCH_DEBUG && perTask.at(-1)!.writes !== 5)
    console.log(
      issue,
      calls.map((call) => `${call.method} ${call.path}`),
    );
}

// 2. Burst: TASKS labels delivered at once (throughput and tail under load).
const burstStart = WARMUP + TASKS + 1;
const burst = await Promise.all(Array.from({ length: TASKS }, (_, index) => labelIssue(burstStart + index)));
await foreman.worker.whenIdle();

// 3. GitHub calls per task, from the sequential run (the installation token is fetched once per hour, not per task).
const reads = perTask.map((count) => count.reads);
const writes = perTask.map((count) => count.writes);
const [doneRow] = await bench.database.sql`select count(*)::int as done from tasks where state = 'awaiting_agent'`;
const done = Number(doneRow?.done);

await foreman.stop();
await bench.close();

console.log(`label → draft PR, ${TASKS} tasks per mode, ${bench.where}, GitHub in-process at zero latency`);
console.log(
  `  sequential: overhead webhook receipt → draft-PR request  p50 ${fmt(quantile(sequential, 0.5))} ms  p95 ${fmt(quantile(sequential, 0.95))} ms  max ${fmt(Math.max(...sequential))} ms   (target p95 < 25 ms)`,
);
console.log(
  `  burst of ${TASKS}:                                        p50 ${fmt(quantile(burst, 0.5))} ms  p95 ${fmt(quantile(burst, 0.95))} ms  max ${fmt(Math.max(...burst))} ms`,
);
console.log(
  `  GitHub per task: reads ${fmt(quantile(reads, 0.5))} (max ${Math.max(...reads)}), writes ${fmt(quantile(writes, 0.5))} (max ${Math.max(...writes)})   floor: 3 reads + 4 writes to a draft PR, + the status comment (target ≤ 5 writes; the foreman check run waits for the first pushed work)`,
);
console.log(
  "    reads: sender permission, .github/foreman.yml, base branch head; writes: plan commit, branch ref, draft PR, PR label, status comment",
);
console.log(`  tasks in awaiting_agent: ${done} of ${WARMUP + 2 * TASKS}`);
process.exit(0);
