// Load, side by side with bare Probot, in one run. Prints each figure beside its comparison and
// its target, met or not met:
//   burst       1,000 signed deliveries (issues.labeled from @octokit/webhooks-examples), 50 at a
//               time, to Foreman (./foreman-server.ts: the real app, worker on, agents off) and to a
//               bare Probot app (./bare-probot.ts: one no-op handler), each a process of its own
//               started the same way; acknowledgement p50, p99 and throughput, and that Foreman
//               stored every delivery. Rounds alternate (bare, Foreman, bare, Foreman, …).
//   rss         Foreman's RSS idle (after start, before any delivery), and with 1,000 open tasks
//               (1,000 agent:ready labels delivered and worked on to their queued planner job).
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
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { claimNextAgentJob } from "../../src/db/queries/claim-next-agent-job.js";
import { TERMINAL_STATES } from "../../src/workflow/states.js";
import { REPO } from "../../test/helpers/github-mock.js";
import { startFakeGitHubServer } from "../../test/helpers/fake-github-server.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { TEST_WEBHOOK_SECRET } from "../../test/helpers/test-foreman.js";
import type { StepTiming } from "../happy-path/report.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { fmt, quantile } from "../lib/stats.js";

const PARTS = new Set((process.env.BENCH_LOAD_PARTS ?? "burst,rss,dispatch,containers").split(","));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const DELIVERIES = 1000;
const IN_FLIGHT = 50;
const TERMINAL_LIST = `(${TERMINAL_STATES.map((state) => `'${state}'`).join(", ")})`;
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

/** One line: the figure, its comparison or target, met or not met (null: a figure without a target). */
function verdict(label: string, figure: string, target: string, met: boolean | null): void {
  const outcome = met === null ? "" : met ? "met" : "NOT MET";
  console.log(`  ${label.padEnd(56)} ${figure.padEnd(42)} ${target.padEnd(26)} ${outcome}`.trimEnd());
}

/** A server in a process of its own (`node --import tsx`), once it printed its port. */
async function spawnServer(
  script: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const match = /port (\d+)\n/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once("exit", (code) => reject(new Error(`${script} ended (${code}) before it listened`)));
  });
  return {
    child,
    port,
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

async function runBurstAndRss(): Promise<void> {
  const bench = await openBenchDatabase();
  const github = await startFakeGitHubServer(REPO.owner, REPO.name);
  const foreman = await spawnServer(here("./foreman-server.ts"), {
    FOREMAN_LOAD_DATABASE: bench.database.url,
    FOREMAN_LOAD_GITHUB: github.host,
  });
  const bare = await spawnServer(here("./bare-probot.ts"), { FOREMAN_LOAD_SECRET: TEST_WEBHOOK_SECRET });
  try {
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idleRss = readRssMb(foreman.child.pid!);
    const bareIdleRss = readRssMb(bare.child.pid!);
    if (PARTS.has("burst")) {
      // Warm both up (JIT, connection pools), then alternate rounds so both see the same machine.
      await sendBurst(bare.port, buildDeliveries("warm-bare", 900_000, "bug").slice(0, 100));
      await sendBurst(foreman.port, buildDeliveries("warm-foreman", 900_000, "bug").slice(0, 100));
      type Round = { acks: number[]; seconds: number };
      const results: { bare: Round[]; foreman: Round[] } = { bare: [], foreman: [] };
      for (let round = 0; round < ROUNDS; round += 1) {
        results.bare.push(await sendBurst(bare.port, buildDeliveries(`bare-${round}`, round * 10_000 + 1, "bug")));
        results.foreman.push(
          await sendBurst(foreman.port, buildDeliveries(`load-${round}`, round * 10_000 + 1, "bug")),
        );
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
        };
      };
      const f = summary(results.foreman);
      const b = summary(results.bare);
      console.log(
        `burst: ${DELIVERIES} signed issues.labeled deliveries, ${IN_FLIGHT} at a time, ${ROUNDS} rounds per side, alternating`,
      );
      console.log(`  Foreman rounds: ${results.foreman.map((r) => fmt(r.acks.length / r.seconds)).join(", ")} /s`);
      console.log(`  bare Probot rounds: ${results.bare.map((r) => fmt(r.acks.length / r.seconds)).join(", ")} /s`);
      verdict("ack p50 (Foreman | bare Probot)", `${fmt(f.p50)} ms | ${fmt(b.p50)} ms`, "(comparison)", null);
      verdict("ack p99 (Foreman | bare Probot)", `${fmt(f.p99)} ms | ${fmt(b.p99)} ms`, "(comparison)", null);
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
    if (PARTS.has("rss")) {
      console.log("rss: Foreman's resident set (bare Probot beside it)");
      verdict(
        "idle, 3 s after start",
        `${fmt(idleRss)} MB (bare ${fmt(bareIdleRss)} MB)`,
        "target < 150 MB",
        idleRss < 150,
      );
      let peak = readRssMb(foreman.child.pid!);
      const sampler = setInterval(() => (peak = Math.max(peak, readRssMb(foreman.child.pid!))), 100);
      await sendBurst(foreman.port, buildDeliveries("open", 500_000, "agent:ready"));
      // Each task runs to its queued planner job (agents are off, so it waits there, open).
      const deadline = Date.now() + 240_000;
      let open = 0;
      let pending = 1;
      const { sql } = bench.database;
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
      const [jobs] = await bench.database.sql<{ count: number }[]>`
        select count(*)::int as count from agent_jobs where status = 'queued'`;
      verdict(
        `${open} open tasks, ${jobs!.count} jobs queued${pending > 0 ? `, ${pending} events/effects left` : ""}`,
        `${fmt(settled)} MB (peak while working ${fmt(peak)} MB)`,
        "(no target)",
        null,
      );
    }
  } finally {
    await foreman.stop();
    await bare.stop();
    await github.close();
    await bench.close();
  }
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
if (PARTS.has("burst") || PARTS.has("rss")) await runBurstAndRss();
if (PARTS.has("dispatch")) await runDispatch();
if (PARTS.has("containers")) await runContainers();
process.exit(0);
