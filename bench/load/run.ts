// Load, side by side with bare Probot, in one run. Prints each figure beside its comparison and
// its target, met or not met:
//   burst       1,000 signed deliveries (issues.labeled from @octokit/webhooks-examples), 50 at a
//               time, to Foreman (./foreman-server.mjs on src/ through tsx: the real app, worker on,
//               agents off) and to a bare Probot app (./bare-probot.ts: one no-op handler), each a process of its own
//               started the same way; acknowledgement p50, p99 and throughput, and that Foreman
//               stored every delivery. Rounds alternate (bare, Foreman, bare, Foreman, …); after each
//               Foreman round, the backlog its worker had left at the last acknowledgement and the
//               seconds until every stored event was applied (the next round waits for it); and each
//               process's CPU (/proc) during its rounds, per delivery and per second of the rounds.
//   rss         Foreman's RSS idle (3 s and BENCH_IDLE_SECONDS after it listened, before any delivery),
//               of the compiled build as production runs it (src/ compiled afresh by ./build-dist.ts,
//               `node dist/cli/main.js serve`) against the target, of ./foreman-server.mjs on that
//               dist/ with node and on src/ through tsx, and of bare Probot; and with 1,000 open tasks
//               (1,000 agent:ready labels delivered and worked on to their queued planner job) for
//               ./foreman-server.mjs, compiled and under tsx.
//   dispatch    1,000 queued jobs over 100 repositories under MAX_CONCURRENT_JOBS=4: the claim
//               (the fair queue's advisory-locked lease) per job, with a no-op runner (nothing is
//               started: Docker is not the bottleneck), and fairness: the largest over the smallest
//               mean wait per repository.
//   containers  10 tasks at once through bench/happy-path (real busybox containers, 10 slots):
//               per step, the orchestration before the container runs outside docker create + start.
// GitHub is simulated over local HTTP (test/helpers/fake-github-server.ts) or in-process; no network.
//
// Run: npm run bench:load   (DATABASE_URL to use a server, else embedded PostgreSQL; the containers
// part needs Docker and the test image from scripts/ci/setup-docker.sh)
//   BENCH_LOAD_PARTS    comma-separated parts to run (burst,rss,dispatch,containers: all)
//   BENCH_ROUNDS        burst rounds per side (2)
//   BENCH_IDLE_SECONDS  the later idle point of the rss part, seconds after Foreman listened (30)
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { claimNextAgentJob } from "../../src/db/queries/claim-next-agent-job.js";
import { TERMINAL_STATES } from "../../src/workflow/states.js";
import { REPO } from "../../test/helpers/github-mock.js";
import { startFakeGitHubServer } from "../../test/helpers/fake-github-server.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { TEST_PRIVATE_KEY, TEST_WEBHOOK_SECRET } from "../../test/helpers/test-foreman.js";
import type { Database } from "../../src/db/client.js";
import type { StepTiming } from "../happy-path/report.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { fmt, quantile } from "../lib/stats.js";
import { buildDist } from "./build-dist.js";

const PARTS = new Set((process.env.BENCH_LOAD_PARTS ?? "burst,rss,dispatch,containers").split(","));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const IDLE_LATER_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
const DELIVERIES = 1000;
const IN_FLIGHT = 50;
const TERMINAL_LIST = `(${TERMINAL_STATES.map((state) => `'${state}'`).join(", ")})`;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** One line: the figure, its comparison or target, met or not met (null: a figure without a target). */
function verdict(label: string, figure: string, target: string, met: boolean | null): void {
  const outcome = met === null ? "" : met ? "met" : "NOT MET";
  console.log(`  ${label.padEnd(56)} ${figure.padEnd(42)} ${target.padEnd(26)} ${outcome}`.trimEnd());
}

/** How a server prints its port: bench/load's own servers print "port <n>"; `foreman serve` logs it. */
type PortReader = (out: string) => number | null;
const readPrintedPort: PortReader = (out) => {
  const match = /port (\d+)\n/.exec(out);
  return match ? Number(match[1]) : null;
};
const readLoggedPort: PortReader = (out) => {
  const match = /"port":(\d+)[^\n]*"msg":"Foreman is running"/.exec(out);
  return match ? Number(match[1]) : null;
};

/** A running server process of the bench's, and the time it listened. */
interface SpawnedServer {
  child: ChildProcess;
  port: number;
  listenedAt: number;
  stop(): Promise<void>;
}

/** The arguments of node that run one of bench/load's TypeScript servers (through tsx, as `npm start` does). */
function runThroughTsx(script: string): string[] {
  return ["--import", "tsx", script];
}

/** A server in a process of its own (`node <args>`), once it listens. */
async function spawnServer(
  args: string[],
  env: Record<string, string>,
  options: { readPort?: PortReader; cwd?: string } = {},
): Promise<SpawnedServer> {
  const readPort = options.readPort ?? readPrintedPort;
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    let found = false;
    // Read on after the port (the logs of `foreman serve`), so the child never blocks on a full pipe.
    child.stdout!.on("data", (chunk: Buffer) => {
      if (found) return;
      out += chunk.toString("utf8");
      const port = readPort(out);
      if (port !== null) {
        found = true;
        resolve(port);
      }
    });
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} ended (${code}) before it listened`)));
  });
  return {
    child,
    port,
    listenedAt: performance.now(),
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A process's resident set size in MB (Linux /proc). */
function readRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

/** A process's CPU seconds so far, user and system, all its threads (Linux /proc, 100 ticks a second). */
function readCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A burst to one server, with the CPU seconds its process spent meanwhile. */
async function sendMeasuredBurst(
  server: SpawnedServer,
  deliveries: readonly Delivery[],
): Promise<{ acks: number[]; seconds: number; cpu: number }> {
  const before = readCpuSeconds(server.child.pid!);
  const burst = await sendBurst(server.port, deliveries);
  return { ...burst, cpu: readCpuSeconds(server.child.pid!) - before };
}

/** A delivery ready to send: body and headers, signed with the webhook secret. */
interface Delivery {
  id: string;
  body: string;
  signature: string;
}

function buildDeliveries(prefix: string, firstIssue: number, label: string): Delivery[] {
  return Array.from({ length: DELIVERIES }, (_, index) => {
    const body = JSON.stringify(buildIssuesPayload({ action: "labeled", label, issueNumber: firstIssue + index }));
    const signature = `sha256=${createHmac("sha256", TEST_WEBHOOK_SECRET).update(body).digest("hex")}`;
    return { id: `${prefix}-${firstIssue + index}`, body, signature };
  });
}

/** Send the deliveries IN_FLIGHT at a time; each one's acknowledgement time (ms) and the seconds it all took. */
async function sendBurst(port: number, deliveries: readonly Delivery[]): Promise<{ acks: number[]; seconds: number }> {
  const acks: number[] = [];
  let next = 0;
  const started = performance.now();
  // node:http with keep-alive (the same for both servers); fetch may be patched by the mocks the helpers load.
  const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const sendOne = (delivery: Delivery) =>
    new Promise<void>((resolve, reject) => {
      const sentAt = performance.now();
      const request = httpRequest(
        {
          host: "127.0.0.1",
          port,
          path: "/api/github/webhooks",
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(delivery.body),
            "x-github-event": "issues",
            "x-github-delivery": delivery.id,
            "x-hub-signature-256": delivery.signature,
          },
        },
        (response) => {
          response.resume();
          response.once("end", () => {
            if (response.statusCode !== 200)
              return reject(new Error(`delivery ${delivery.id} answered ${response.statusCode}`));
            acks.push(performance.now() - sentAt);
            resolve();
          });
        },
      );
      request.once("error", reject);
      request.end(delivery.body);
    });
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < deliveries.length) await sendOne(deliveries[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { acks, seconds };
}

/**
 * After a burst's last acknowledgement: how many of its deliveries were still waiting to be applied,
 * and the seconds until none was (the worker's backlog drained), polled every 20 ms.
 */
async function measureDrain(
  sql: Database["sql"],
  prefix: string,
): Promise<{ pendingAtLastAck: number; seconds: number }> {
  const started = performance.now();
  const pendingOf = async () => {
    const [row] = await sql<{ count: number }[]>`
      select count(*)::int as count from webhook_deliveries where status = 'pending' and delivery_id like ${`${prefix}-%`}`;
    return row!.count;
  };
  const pendingAtLastAck = await pendingOf();
  const deadline = started + 240_000;
  for (let pending = pendingAtLastAck; pending > 0; pending = await pendingOf()) {
    if (performance.now() > deadline) throw new Error(`${pending} ${prefix} deliveries still pending after 240 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { pendingAtLastAck, seconds: (performance.now() - started) / 1000 };
}

/** A server's RSS (MB) idle: 3 s and IDLE_LATER_SECONDS after it listened. */
interface IdleFigures {
  idle: number;
  idleLater: number;
}

/** Foreman's RSS over one run: idle, then with DELIVERIES open tasks. */
interface RssFigures extends IdleFigures {
  open: number;
  jobs: number;
  pending: number;
  settled: number;
  peak: number;
}

/** Wait until `seconds` after `since` (a performance.now() reading). */
async function waitUntil(since: number, seconds: number): Promise<void> {
  const left = since + seconds * 1000 - performance.now();
  if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
}

/** A server's idle points, since it listened. */
async function measureIdleRss(server: SpawnedServer): Promise<IdleFigures> {
  await waitUntil(server.listenedAt, 3);
  const idle = readRssMb(server.child.pid!);
  await waitUntil(server.listenedAt, IDLE_LATER_SECONDS);
  return { idle, idleLater: readRssMb(server.child.pid!) };
}

/** Deliver DELIVERIES agent:ready labels and wait until each task sits at its queued planner job (agents are off). */
async function measureOpenTasksRss(
  foreman: SpawnedServer,
  sql: Database["sql"],
): Promise<Omit<RssFigures, keyof IdleFigures>> {
  let peak = readRssMb(foreman.child.pid!);
  const sampler = setInterval(() => (peak = Math.max(peak, readRssMb(foreman.child.pid!))), 100);
  await sendBurst(foreman.port, buildDeliveries("open", 500_000, "agent:ready"));
  const deadline = Date.now() + 240_000;
  let open = 0;
  let pending = 1;
  while (Date.now() < deadline) {
    const [row] = await sql<{ open: number; pending: number }[]>`
      select (select count(*)::int from tasks where issue_number >= 500000 and state not in ${sql.unsafe(TERMINAL_LIST)}) as open,
             (select count(*)::int from effects where status in ('pending', 'running')) +
             (select count(*)::int from webhook_deliveries where status = 'pending') as pending`;
    open = row!.open;
    pending = row!.pending;
    if (open >= DELIVERIES && pending === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  clearInterval(sampler);
  const settled = readRssMb(foreman.child.pid!);
  const [jobs] = await sql<{ count: number }[]>`select count(*)::int as count from agent_jobs where status = 'queued'`;
  return { open, jobs: jobs!.count, pending, settled, peak };
}

/** The burst beside bare Probot (Foreman under tsx), and the RSS of that Foreman and of bare Probot. */
async function runBurstAndTsxRss(): Promise<{ tsx: RssFigures; bare: IdleFigures } | null> {
  const bench = await openBenchDatabase();
  const github = await startFakeGitHubServer(REPO.owner, REPO.name);
  const foreman = await spawnServer(runThroughTsx(here("./foreman-server.mjs")), {
    FOREMAN_LOAD_APP: new URL("../../src/", import.meta.url).href,
    FOREMAN_LOAD_DATABASE: bench.database.url,
    FOREMAN_LOAD_GITHUB: github.host,
    FOREMAN_LOAD_SECRET: TEST_WEBHOOK_SECRET,
  });
  const bare = await spawnServer(runThroughTsx(here("./bare-probot.ts")), { FOREMAN_LOAD_SECRET: TEST_WEBHOOK_SECRET });
  try {
    const idle = PARTS.has("rss") ? await Promise.all([measureIdleRss(foreman), measureIdleRss(bare)]) : null;
    if (PARTS.has("burst")) {
      // Warm both up (JIT, connection pools), then alternate rounds so both see the same machine.
      await sendBurst(bare.port, buildDeliveries("warm-bare", 900_000, "bug").slice(0, 100));
      await sendBurst(foreman.port, buildDeliveries("warm-foreman", 900_000, "bug").slice(0, 100));
      await measureDrain(bench.database.sql, "warm-foreman");
      type Round = { acks: number[]; seconds: number; cpu: number };
      const results: { bare: Round[]; foreman: Round[] } = { bare: [], foreman: [] };
      const drains: Array<{ pendingAtLastAck: number; seconds: number }> = [];
      for (let round = 0; round < ROUNDS; round += 1) {
        results.bare.push(await sendMeasuredBurst(bare, buildDeliveries(`bare-${round}`, round * 10_000 + 1, "bug")));
        results.foreman.push(
          await sendMeasuredBurst(foreman, buildDeliveries(`load-${round}`, round * 10_000 + 1, "bug")),
        );
        // Each round's backlog drains before the next bare round, so bare Probot never shares the CPU with it.
        drains.push(await measureDrain(bench.database.sql, `load-${round}`));
      }
      const [stored] = await bench.database.sql<{ count: number }[]>`
        select count(*)::int as count from webhook_deliveries where delivery_id like 'load-%'`;
      const summary = (side: Round[]) => {
        const acks = side.flatMap((round) => round.acks);
        const perSecond = side.map((round) => round.acks.length / round.seconds);
        return {
          p50: quantile(acks, 0.5),
          p99: quantile(acks, 0.99),
          throughput: perSecond.reduce((sum, value) => sum + value, 0) / perSecond.length,
          cpuMsPerDelivery: (side.reduce((sum, round) => sum + round.cpu, 0) * 1000) / acks.length,
          cpuShare:
            side.reduce((sum, round) => sum + round.cpu, 0) / side.reduce((sum, round) => sum + round.seconds, 0),
        };
      };
      const f = summary(results.foreman);
      const b = summary(results.bare);
      console.log(
        `burst: ${DELIVERIES} signed issues.labeled deliveries, ${IN_FLIGHT} at a time, ${ROUNDS} rounds per side, alternating`,
      );
      console.log(`  Foreman rounds: ${results.foreman.map((r) => fmt(r.acks.length / r.seconds)).join(", ")} /s`);
      console.log(`  bare Probot rounds: ${results.bare.map((r) => fmt(r.acks.length / r.seconds)).join(", ")} /s`);
      verdict(
        "Foreman's backlog at the last ack, per round",
        drains.map((drain) => `${drain.pendingAtLastAck}`).join(", ") + ` of ${DELIVERIES}`,
        "(the cost of the priority)",
        null,
      );
      verdict(
        "last ack → every stored event applied, per round",
        drains.map((drain) => `${fmt(drain.seconds)} s`).join(", "),
        "(the cost of the priority)",
        null,
      );
      verdict("ack p50 (Foreman | bare Probot)", `${fmt(f.p50)} ms | ${fmt(b.p50)} ms`, "(comparison)", null);
      verdict("ack p99 (Foreman | bare Probot)", `${fmt(f.p99)} ms | ${fmt(b.p99)} ms`, "(comparison)", null);
      verdict(
        "process CPU per delivery (Foreman | bare Probot)",
        `${f.cpuMsPerDelivery.toFixed(2)} ms | ${b.cpuMsPerDelivery.toFixed(2)} ms`,
        "(comparison)",
        null,
      );
      verdict(
        "process CPU s per second of rounds (Foreman | bare)",
        `${f.cpuShare.toFixed(2)} | ${b.cpuShare.toFixed(2)}`,
        "(1.00: one core busy)",
        null,
      );
      const ratio = f.throughput / b.throughput;
      verdict(
        "throughput, mean of rounds (Foreman | bare Probot)",
        `${fmt(f.throughput)} /s | ${fmt(b.throughput)} /s = ${ratio.toFixed(2)}×`,
        "target ≥ 0.80× bare",
        ratio >= 0.8,
      );
      verdict(
        "deliveries Foreman stored (webhook_deliveries)",
        `${stored!.count} of ${DELIVERIES * ROUNDS}`,
        "target: every one",
        stored!.count === DELIVERIES * ROUNDS,
      );
    }
    if (!idle) return null;
    const open = await measureOpenTasksRss(foreman, bench.database.sql);
    return { tsx: { ...idle[0], ...open }, bare: idle[1] };
  } finally {
    await foreman.stop();
    await bare.stop();
    await github.close();
    await bench.close();
  }
}

/**
 * The compiled build, fresh from src/ (./build-dist.ts): `node dist/cli/main.js serve` as the
 * image runs it, with production's settings but for agents (off), GitHub (the fake server) and write
 * pacing (off), idle; and ./foreman-server.mjs on the same dist/ with plain node (the app as under
 * tsx), idle and with 1,000 open tasks. `serve` keeps production's HTTP throttling (one write a
 * second per installation), under which 1,000 tasks would take the better part of an hour.
 */
async function runDistRss(): Promise<{ serve: IdleFigures; app: RssFigures }> {
  const build = await buildDist();
  console.log(`rss: compiled src/ into ${build.root}/dist in ${fmt(build.seconds)} s`);
  const servesBench = await openBenchDatabase();
  const bench = await openBenchDatabase();
  const github = await startFakeGitHubServer(REPO.owner, REPO.name);
  const serve = await spawnServer(
    [build.entry, "serve"],
    {
      NODE_ENV: "production",
      APP_ID: "12345",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      DATABASE_URL: servesBench.database.url,
      PORT: "0",
      HOST: "127.0.0.1",
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      REPLICA_ID: "foreman-load-serve",
      AGENTS_ENABLED: "false",
      GITHUB_WRITES_PER_HOUR: "0",
    },
    { readPort: readLoggedPort, cwd: build.root },
  );
  const app = await spawnServer([here("./foreman-server.mjs")], {
    FOREMAN_LOAD_APP: pathToFileURL(`${build.root}/dist/`).href,
    FOREMAN_LOAD_DATABASE: bench.database.url,
    FOREMAN_LOAD_GITHUB: github.host,
    FOREMAN_LOAD_SECRET: TEST_WEBHOOK_SECRET,
  });
  try {
    const [serveIdle, appIdle] = await Promise.all([measureIdleRss(serve), measureIdleRss(app)]);
    await serve.stop();
    const open = await measureOpenTasksRss(app, bench.database.sql);
    return { serve: serveIdle, app: { ...appIdle, ...open } };
  } finally {
    await serve.stop();
    await app.stop();
    await github.close();
    await bench.close();
    await servesBench.close();
    build.remove();
  }
}

/** The RSS lines: `foreman serve` compiled against the target, the app compiled and under tsx, and bare Probot beside them. */
function printRss(serve: IdleFigures, dist: RssFigures, tsx: RssFigures, bare: IdleFigures): void {
  console.log(
    "rss: resident set of `node dist/cli/main.js serve` (compiled, as in the image) | bench/load/foreman-server.mjs on dist/ (node) | the same on src/ (tsx) | bare Probot (tsx)",
  );
  const row = (label: string, pick: (figures: IdleFigures) => number) =>
    verdict(
      label,
      `${[serve, dist, tsx, bare].map((figures) => fmt(pick(figures))).join(" | ")} MB`,
      "target < 150 MB (serve)",
      pick(serve) < 150,
    );
  row("idle, 3 s after it listened", (figures) => figures.idle);
  row(`idle, ${IDLE_LATER_SECONDS} s after it listened`, (figures) => figures.idleLater);
  const left = (figures: RssFigures) => (figures.pending > 0 ? ` (${figures.pending} events/effects left)` : "");
  verdict(
    `open tasks | jobs queued (dist | tsx)`,
    `${dist.open}${left(dist)} | ${dist.jobs}, ${tsx.open}${left(tsx)} | ${tsx.jobs}`,
    "",
    null,
  );
  verdict("  with them open (dist | tsx)", `${fmt(dist.settled)} | ${fmt(tsx.settled)} MB`, "(no target)", null);
  verdict("  peak while working on them (dist | tsx)", `${fmt(dist.peak)} | ${fmt(tsx.peak)} MB`, "(no target)", null);
}

async function runDispatch(): Promise<void> {
  const REPOS = 100;
  const PER_REPO = 10;
  const SLOTS = 4;
  const HOLD_MS = 5;
  const bench = await openBenchDatabase();
  const { sql } = bench.database;
  try {
    // Queued repository by repository: the worst case for first-in, first-out.
    await sql`
      insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title,
                         type, trigger_label, triggered_by, state, priority, created_at, updated_at)
      select gen_random_uuid(), 1, 1000 + r, 'acme', 'repo-' || r, 'main', n, 'Do a thing', 'feature', 'agent:ready',
             'octocat', 'awaiting_agent', 0, now(), now()
        from generate_series(1, ${REPOS}) r, generate_series(1, ${PER_REPO}) n`;
    await sql`
      insert into agent_jobs (id, task_id, role, profile, base_sha, log_token, status, created_at, available_at)
      select gen_random_uuid(), t.id, 'planner', 'claude-code', 'base-sha', 'token-' || t.id, 'queued',
             now() - interval '1 hour' + make_interval(secs => (t.repo_id - 1000) * ${PER_REPO} + t.issue_number),
             now() - interval '1 hour'
        from tasks t`;
    const repoOfJob = new Map(
      (
        await sql<
          { id: string; repo_id: string }[]
        >`select j.id, t.repo_id from agent_jobs j join tasks t on t.id = j.task_id`
      ).map((row) => [row.id, String(row.repo_id)]),
    );
    const claims: number[] = [];
    const waits = new Map<string, number[]>();
    const started = performance.now();
    let done = 0;
    let emptyClaims = 0;
    await Promise.all(
      Array.from({ length: SLOTS }, async () => {
        while (done < repoOfJob.size) {
          const claimStarted = performance.now();
          const job = await claimNextAgentJob(sql, "load-bench", 60_000, {
            maxRunning: SLOTS,
            maxPerRepo: 2,
            paused: false,
          });
          // The no-op runner: "container start requested" is the moment the claim returns.
          const requestedAt = performance.now();
          if (!job) {
            emptyClaims += 1;
            await new Promise((resolve) => setTimeout(resolve, 1));
            continue;
          }
          claims.push(requestedAt - claimStarted);
          const repo = repoOfJob.get(job.id)!;
          waits.set(repo, [...(waits.get(repo) ?? []), requestedAt - started]);
          await new Promise((resolve) => setTimeout(resolve, HOLD_MS));
          await sql`update agent_jobs set status = 'succeeded', finished_at = now(), lease_until = null where id = ${job.id}`;
          done += 1;
        }
      }),
    );
    const means = [...waits.values()].map((list) => list.reduce((sum, value) => sum + value, 0) / list.length);
    const fairness = Math.max(...means) / Math.min(...means);
    console.log(
      `dispatch: ${repoOfJob.size} queued jobs over ${REPOS} repositories, MAX_CONCURRENT_JOBS=${SLOTS}, MAX_JOBS_PER_REPO=2; no-op runner holding each slot ${HOLD_MS} ms (no Docker)`,
    );
    verdict(
      "claim → container start requested, per job",
      `p50 ${fmt(quantile(claims, 0.5))} ms, p99 ${fmt(quantile(claims, 0.99))} ms`,
      "(no target)",
      null,
    );
    verdict(
      "fairness: largest / smallest mean wait per repository",
      `${fairness.toFixed(2)} (${fmt(Math.max(...means))} / ${fmt(Math.min(...means))} ms)`,
      "target ≤ 2",
      fairness <= 2,
    );
    console.log(`  (${claims.length} jobs started, ${emptyClaims} claims found nothing free)`);
  } finally {
    await bench.close();
  }
}

async function runContainers(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "foreman-load-"));
  const file = join(dir, "steps.json");
  try {
    const child = spawn(process.execPath, ["--import", "tsx", here("../happy-path/run.ts")], {
      env: {
        ...process.env,
        BENCH_TASKS: "10",
        BENCH_IN_FLIGHT: "10",
        MAX_CONCURRENT_JOBS: "10",
        MAX_JOBS_PER_REPO: "10",
        BENCH_STEPS_FILE: file,
      },
      stdio: ["ignore", "ignore", "inherit"],
    });
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    if (code !== 0) throw new Error(`bench/happy-path ended with ${code}`);
    const steps = JSON.parse(readFileSync(file, "utf8")) as StepTiming[];
    const before = steps.map((step) => step.runningAt - step.dispatchedAt);
    const docker = steps.map((step) => step.runningAt - step.startCalledAt);
    const outside = steps.map((step) => step.startCalledAt - step.dispatchedAt);
    const spread = (values: number[]) => `p50 ${fmt(quantile(values, 0.5))} ms, p95 ${fmt(quantile(values, 0.95))} ms`;
    console.log(
      `containers: 10 tasks at once (${steps.length} steps, real busybox containers, 10 slots) through bench/happy-path, ${
        (await import("node:os")).cpus().length
      } cores`,
    );
    verdict("before the container runs (dispatched → running)", spread(before), "(today 1.2 s / 2.1 s)", null);
    verdict("  of it docker create + start", spread(docker), "(Docker itself)", null);
    verdict(
      "  of it queue: dispatched → leased",
      spread(steps.map((step) => step.claimedAt - step.dispatchedAt)),
      "",
      null,
    );
    verdict(
      "  of it leased → tarball request (job_started, prompt)",
      spread(steps.map((step) => step.tarballAt - step.claimedAt)),
      "",
      null,
    );
    verdict(
      "  of it tarball → docker create (download, workspace)",
      spread(steps.map((step) => step.startCalledAt - step.tarballAt)),
      "",
      null,
    );
    verdict(
      "outside Docker: dispatched → docker create",
      spread(outside),
      "target p95 < 500 ms",
      quantile(outside, 0.95) < 500,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log("bench:load — figures are noisy on a shared machine; each line shows its target and whether it was met");
if (PARTS.has("burst") || PARTS.has("rss")) {
  const tsx = await runBurstAndTsxRss();
  if (tsx) {
    const dist = await runDistRss();
    printRss(dist.serve, dist.app, tsx.tsx, tsx.bare);
  }
}
if (PARTS.has("dispatch")) await runDispatch();
if (PARTS.has("containers")) await runContainers();
process.exit(0);
