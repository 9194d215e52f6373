// Happy path, the whole loop: label → planner → coder → reviewer (each a real container job) → CI
// green (check_suite.completed) → ready for review (GraphQL markPullRequestReadyForReview), for
// BENCH_TASKS issues (default 100) on one repository, through the real app: Probot, inbox, state
// machine, outbox, job runner, PostgreSQL, Docker (busybox script agents from
// foreman-test/busybox:latest). GitHub is simulated in-process (./loop-github.ts): it keeps the
// repository's state and answers every call as GitHub would, and attributes each call to its task.
//
// Run: npm run bench:happy   (DATABASE_URL to use a server, else embedded PostgreSQL; needs Docker
// and the image from scripts/ci/setup-docker.sh)
//
// Environment (all optional):
//   BENCH_TASKS            issues to run (100)
//   BENCH_IN_FLIGHT        tasks in flight at once; a new issue is labelled when one is ready (MAX_CONCURRENT_JOBS)
//   BENCH_AGENT_SECONDS    each agent sleeps this long before answering (2: longer than the display delay,
//                          as real agents are, so each step's redraws happen as in production; 0 to coalesce)
//   BENCH_CI_DELAY_MS      CI reports green this long after the review is posted (2000)
//   BENCH_GITHUB_LATENCY_MS  added to every GitHub answer (0)
//   BENCH_REVIEWERS        comma-separated users `reviewers:` asks at ready (none: one write fewer)
//   BENCH_LOG              a log level; Foreman's logs go to stderr
//   BENCH_STEPS_FILE       write every step's timestamps (StepTiming[], JSON) to this file (bench/load/ reads it)
//   BENCH_TRACE            an issue number: print its timeline (GitHub calls, transitions, containers);
//                          without it, the timeline of the task with the most writes when tasks differ
//   DISPLAY_DELAY_MS (1000, as in production), MAX_CONCURRENT_JOBS (8), MAX_JOBS_PER_REPO (= MAX_CONCURRENT_JOBS)
//
// How the orchestration overhead is measured. Every timestamp is on one clock: this process's wall
// clock in milliseconds, as the benchmark's Date.now() and the engine's `deps.now()` (which stamps
// compliance records) read it. None comes from the database's now(), which may be another host's
// clock. For each agent job:
//   dispatched  the createdAt of the `task.transition` compliance record whose effects include
//               `dispatch_agent_job` (the n-th such record of a task queued its n-th job): for the
//               planner the `draft_pr_opened` transition (the draft PR), for later steps the previous
//               job's end event being applied;
//   claimed     the createdAt of the job's `agent_job.started` record, appended right after the job
//               runner leased the job;
//   tarball     the job's GET /tarball/:sha reached the simulated GitHub (the n-th of the issue's);
//   start call  the benchmark wraps the Docker runner (./timing-runner.ts): runner.start() called,
//   running     runner.start() returned (container created and started),
//   exited      runner.wait() returned (the agent's container exited),
//   removed     runner.remove() returned (logs read, container removed);
//   applied     the createdAt of the `task.transition` record of the job's end event (`job:<id>:finished`).
// "Before" is dispatched → running, "after" is exited → applied: everything that is not the agent
// itself (running → exited). The CI step is check_suite webhook received (the benchmark's clock just
// before probot.receive) → the ready_for_review transition applied, and → the GraphQL request.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { DockerRunner, dockerOptionsFromHost } from "../../src/agents/docker-runner.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { buildRepoTarball } from "../../test/integration/agents/repo-tarball.js";
import { buildCheckSuitePayload } from "../../test/helpers/more-payloads.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { buildTestEnv } from "../../test/helpers/test-foreman.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { fmt, quantile } from "../lib/stats.js";
import { createLoopGitHub, type LoopRequest } from "./loop-github.js";
import {
  buildStepTimings,
  formatSpread,
  listWritesPerTask,
  mean,
  summarizeGitHubCalls,
  type JobRow,
  type StepTiming,
  type TransitionRow,
} from "./report.js";
import { wrapRunnerWithTimes } from "./timing-runner.js";

const TASKS = Number(process.env.BENCH_TASKS ?? 100);
const DISPLAY_DELAY_MS = Number(process.env.DISPLAY_DELAY_MS ?? 1000);
const MAX_CONCURRENT_JOBS = Number(process.env.MAX_CONCURRENT_JOBS ?? 8);
const MAX_JOBS_PER_REPO = Number(process.env.MAX_JOBS_PER_REPO ?? MAX_CONCURRENT_JOBS);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? MAX_CONCURRENT_JOBS);
const AGENT_SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 2);
const CI_DELAY_MS = Number(process.env.BENCH_CI_DELAY_MS ?? 2000);
const LATENCY_MS = Number(process.env.BENCH_GITHUB_LATENCY_MS ?? 0);
const REVIEWERS = (process.env.BENCH_REVIEWERS ?? "")
  .split(",")
  .map((login) => login.trim())
  .filter(Boolean);
const STEPS_FILE = process.env.BENCH_STEPS_FILE;
const TASK_TIMEOUT_MS = 180_000;
const WRITE_TARGET = 12;
const IMAGE = "foreman-test/busybox:latest";
const OWNER = "Codertocat";
const REPO = "Hello-World";
const DEFAULT_BRANCH = "master";

/** Writes result.json from a JSON literal (as the integration tests' script agents do). */
function buildResultCommand(result: Record<string, unknown>): string {
  return `printf '%s' '${JSON.stringify(result).replace(/'/g, "'\\''")}' > /foreman/out/result.json`;
}

/** `.github/foreman.yml`: the default pipeline (planner, coder, reviewer), one busybox script agent per role. */
function buildBenchConfig(agentSeconds: number, reviewers: readonly string[]): string {
  const wait = agentSeconds > 0 ? `sleep ${agentSeconds} && ` : "";
  const scripts: Record<string, string> = {
    "planner-script":
      wait +
      buildResultCommand({
        status: "success",
        summary: "Planned the fix.",
        body: "1. Fix the spelling of 'the' in README.md.\n2. Nothing else.",
      }),
    "coder-script": `${wait}cd /workspace && printf 'The README.\\n' > README.md && ${buildResultCommand({ status: "success", summary: "Fixed the spelling in README.md.", title: "Fix README spelling" })}`,
    "reviewer-script":
      wait +
      buildResultCommand({
        status: "success",
        summary: "The change is right.",
        review: { body: "Fixes the typo and nothing else. Looks good." },
      }),
  };
  return [
    "agent: coder-script",
    "roles:",
    "  planner: { agent: planner-script }",
    "  reviewer: { agent: reviewer-script }",
    ...(reviewers.length > 0 ? ["reviewers:", `  users: [${reviewers.join(", ")}]`] : []),
    "profiles:",
    ...Object.entries(scripts).flatMap(([name, script]) => [
      `  ${name}:`,
      `    image: ${IMAGE}`,
      `    command: ["sh", "-c", ${JSON.stringify(script)}]`,
      "    env: []",
      "    network: none",
      "    timeoutSeconds: 120",
      "    memoryMb: 256",
    ]),
  ].join("\n");
}

async function main(): Promise<void> {
  const docker = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST));
  if (!(await docker.ping()) || !(await docker.hasImage(IMAGE))) {
    throw new Error(`Docker or ${IMAGE} is missing: run scripts/ci/setup-docker.sh first.`);
  }
  const { runner, times } = wrapRunnerWithTimes(docker);
  const bench = await openBenchDatabase();
  const artifactsDir = mkdtempSync(join(tmpdir(), "foreman-bench-artifacts-"));
  const workspaceDir = mkdtempSync(join(tmpdir(), "foreman-bench-ws-"));
  const github = createLoopGitHub({
    owner: OWNER,
    repo: REPO,
    defaultBranch: DEFAULT_BRANCH,
    config: buildBenchConfig(AGENT_SECONDS, REVIEWERS),
    tarball: await buildRepoTarball({ "README.md": "Teh README.\n" }),
    diff: "diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-Teh README.\n+The README.\n",
    firstPullNumber: 100_000,
    latencyMs: LATENCY_MS,
  });
  const log = createLogger({
    level: process.env.BENCH_LOG ?? "warn",
    secrets: [],
    destination: process.env.BENCH_LOG
      ? process.stderr
      : new Writable({ write: (_chunk, _encoding, callback) => callback() }),
  });
  const foreman = await buildForeman({
    env: buildTestEnv({
      LOG_LEVEL: process.env.BENCH_LOG ?? "warn",
      // Production settings, but for the capacity the brief asks for.
      WORKER_CONCURRENCY: "8",
      POLL_INTERVAL_MS: "1000",
      EFFECT_MAX_ATTEMPTS: "6",
      DISPLAY_DELAY_MS: String(DISPLAY_DELAY_MS),
      MAX_CONCURRENT_JOBS: String(MAX_CONCURRENT_JOBS),
      MAX_JOBS_PER_REPO: String(MAX_JOBS_PER_REPO),
      AGENT_IMAGE_ALLOWLIST: "foreman-test/*",
      // The bench's script profiles are the repository's own (image and command).
      REPO_PROFILE_OVERRIDES: "image,command",
      ARTIFACTS_DIR: artifactsDir,
      WORKSPACE_DIR: workspaceDir,
      PUBLIC_URL: "https://foreman.example.test",
    }),
    database: bench.database,
    log,
    octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false, fetch: github.fetch as typeof fetch },
    // LISTEN/NOTIFY on, as in production: a queued job or event wakes the loops at once.
    worker: { listen: true },
    agents: { enabled: true, runner, heartbeatMs: 1000 },
  });
  await foreman.start({ listen: false, compliance: false });

  let deliveries = 0;
  const receive = (name: string, payload: Record<string, unknown>) =>
    foreman.probot.receive({ id: `bench-happy-${process.pid}-${++deliveries}`, name, payload } as never);

  const labelledAt = new Map<number, number>();
  const suiteReceivedAt = new Map<number, number>();
  const markedReadyAt = new Map<number, number>();
  const readyWaiters = new Map<number, () => void>();
  const failures: string[] = [];

  // CI: the suite of GitHub Actions completes green on the pushed head BENCH_CI_DELAY_MS after the
  // review is posted (by then the task waits for CI: the review is an effect of that transition).
  async function deliverGreenSuite(issue: number): Promise<void> {
    const found = github.findBranch(issue);
    if (!found) throw new Error(`issue ${issue} has no branch`);
    const suiteId = 5_000_000 + issue;
    github.completeSuite(found.head, suiteId, "success");
    const payload = buildCheckSuitePayload({
      headBranch: found.branch,
      headSha: found.head,
      conclusion: "success",
      suiteId,
      app: "github-actions",
    });
    payload.repository.default_branch = DEFAULT_BRANCH;
    suiteReceivedAt.set(issue, Date.now());
    await receive("check_suite", payload);
  }
  github.onRequest((request) => {
    if (request.issue === null || request.status >= 300) return;
    const issue = request.issue;
    if (request.endpoint === "POST /pulls/:number/reviews" && !suiteReceivedAt.has(issue)) {
      suiteReceivedAt.set(issue, Number.NaN);
      setTimeout(
        () =>
          void deliverGreenSuite(issue).catch((error: unknown) =>
            failures.push(`check_suite of issue ${issue}: ${String(error)}`),
          ),
        CI_DELAY_MS,
      );
    }
    // The PR leaves draft in the ready effect's one request (ADR 0017), or alone in its fallback.
    if (request.endpoint.startsWith("POST /graphql (markPullRequestReadyForReview") && !markedReadyAt.has(issue)) {
      markedReadyAt.set(issue, request.at);
      readyWaiters.get(issue)?.();
    }
  });

  // Tasks: BENCH_IN_FLIGHT at a time; each slot labels its next issue once its task's PR is ready.
  const stuck: number[] = [];
  let nextIssue = 1;
  let reported = 0;
  const startedAt = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(IN_FLIGHT, TASKS) }, async () => {
      while (nextIssue <= TASKS) {
        const issue = nextIssue++;
        const ready = new Promise<boolean>((resolve) => {
          readyWaiters.set(issue, () => resolve(true));
          setTimeout(() => resolve(false), TASK_TIMEOUT_MS).unref();
        });
        labelledAt.set(issue, Date.now());
        await receive(
          "issues",
          buildIssuesPayload({
            action: "labeled",
            label: "agent:ready",
            issueNumber: issue,
            title: `Benchmark issue ${issue}`,
            sender: `bench-user-${issue}`,
          }),
        );
        if (!(await ready)) stuck.push(issue);
        if (markedReadyAt.size >= reported + 10) {
          reported = markedReadyAt.size - (markedReadyAt.size % 10);
          process.stderr.write(
            `  ${markedReadyAt.size}/${TASKS} ready after ${fmt((Date.now() - startedAt) / 1000)} s\n`,
          );
        }
      }
    }),
  );
  const lastReadyAt = Math.max(...markedReadyAt.values());

  // Let the last redraws (delayed by DISPLAY_DELAY_MS) and everything else finish, so each task's writes are all counted.
  const { sql } = bench.database;
  let settledAt = Number.NaN;
  for (let waited = 0; waited < 60_000; waited += 200) {
    const [row] = await sql`
      select (select count(*) from effects where status in ('pending', 'running'))
           + (select count(*) from agent_jobs where status in ('queued', 'running'))
           + (select count(*) from webhook_deliveries where status = 'pending' and available_at <= now()) as open`;
    if (Number(row?.open) === 0) {
      settledAt = Date.now();
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  const jobRows = await sql`
    select j.id, j.task_id, t.issue_number, j.role, j.attempt, j.status,
           (select min(r.created_at) from compliance_records r
             where r.kind = 'agent_job.started' and r.payload->>'jobId' = j.id::text) as claimed_at
      from agent_jobs j join tasks t on t.id = j.task_id
     order by t.issue_number, j.created_at, j.id`;
  const transitionRows = await sql`
    select task_id, seq, created_at, payload from compliance_records where kind = 'task.transition' order by seq`;
  const stateRows = await sql`select state, count(*)::int as count from tasks group by state order by state`;
  const effectRows =
    await sql`select kind, status, count(*)::int as count from effects group by kind, status order by kind, status`;
  const retriedRows = await sql`
    select t.issue_number, f.kind, f.attempts, f.status, f.last_error from effects f join tasks t on t.id = f.task_id
     where f.attempts > 1 or f.last_error is not null order by t.issue_number, f.id`;
  await foreman.stop();
  await bench.close();
  rmSync(artifactsDir, { recursive: true, force: true });
  rmSync(workspaceDir, { recursive: true, force: true });

  const jobs: JobRow[] = jobRows.map((row) => ({
    id: String(row.id),
    taskId: String(row.task_id),
    issue: Number(row.issue_number),
    role: String(row.role),
    attempt: Number(row.attempt),
    status: String(row.status),
    claimedAt: row.claimed_at ? new Date(row.claimed_at as string).getTime() : null,
  }));
  const transitions: TransitionRow[] = transitionRows.map((row) => {
    const payload = row.payload as { event: string; deliveryId: string; to: string; effects: string[] };
    return {
      taskId: String(row.task_id),
      seq: Number(row.seq),
      at: new Date(row.created_at as string).getTime(),
      event: payload.event,
      deliveryId: payload.deliveryId,
      to: payload.to,
      effects: payload.effects,
    };
  });
  const tarballs = new Map<number, number[]>();
  for (const request of github.requests)
    if (request.endpoint === "GET /tarball/:sha" && request.issue !== null)
      tarballs.set(request.issue, [...(tarballs.get(request.issue) ?? []), request.at]);
  const { steps, incomplete } = buildStepTimings(jobs, transitions, times, tarballs);
  if (STEPS_FILE) writeFileSync(STEPS_FILE, JSON.stringify(steps));
  const readyIssues = [...markedReadyAt.keys()].sort((a, b) => a - b);
  const calls = summarizeGitHubCalls(github.requests, readyIssues);

  // Per task: label → draft PR request, CI → ready, and the totals.
  const taskOfIssue = new Map(jobs.map((job) => [job.issue, job.taskId]));
  const draftPrRequestAt = new Map<number, number>();
  for (const request of github.requests)
    if (request.endpoint === "POST /pulls" && request.issue !== null && request.status === 201)
      draftPrRequestAt.set(request.issue, request.at);
  const labelToDraft = readyIssues.map((issue) => draftPrRequestAt.get(issue)! - labelledAt.get(issue)!);
  const readyApplied = new Map(
    transitions.filter((row) => row.to === "ready_for_review").map((row) => [row.taskId, row.at]),
  );
  const suiteToReadyState = readyIssues.map(
    (issue) => readyApplied.get(taskOfIssue.get(issue)!)! - suiteReceivedAt.get(issue)!,
  );
  const suiteToGraphql = readyIssues.map((issue) => markedReadyAt.get(issue)! - suiteReceivedAt.get(issue)!);
  const endToEnd = readyIssues.map((issue) => markedReadyAt.get(issue)! - labelledAt.get(issue)!);
  const stepsOf = (issue: number) => steps.filter((step) => step.issue === issue);
  const perTaskOverhead = readyIssues
    .filter((issue) => stepsOf(issue).length === 3)
    .map((issue) => {
      const own = stepsOf(issue).reduce(
        (sum, step) => sum + (step.runningAt - step.dispatchedAt) + (step.appliedAt - step.exitedAt),
        0,
      );
      return (
        own +
        (draftPrRequestAt.get(issue)! - labelledAt.get(issue)!) +
        (markedReadyAt.get(issue)! - suiteReceivedAt.get(issue)!)
      );
    });
  const agentTime = readyIssues.map((issue) =>
    stepsOf(issue).reduce((sum, step) => sum + (step.exitedAt - step.runningAt), 0),
  );

  const wallSeconds = (lastReadyAt - startedAt) / 1000;
  const meanWrites = mean(calls.writes);
  const line = (text = "") => console.log(text);
  line(
    `happy path: label → planner → coder → reviewer → CI green → ready for review, ${TASKS} tasks on ${OWNER}/${REPO}, ${bench.where}`,
  );
  line(
    `  settings: DISPLAY_DELAY_MS=${DISPLAY_DELAY_MS}, MAX_CONCURRENT_JOBS=${MAX_CONCURRENT_JOBS}, MAX_JOBS_PER_REPO=${MAX_JOBS_PER_REPO}, WORKER_CONCURRENCY=8, POLL_INTERVAL_MS=1000, LISTEN on`,
  );
  line(
    `            ${Math.min(IN_FLIGHT, TASKS)} tasks in flight; busybox script agents (${IMAGE}) that sleep ${AGENT_SECONDS} s; CI green ${CI_DELAY_MS} ms after the review; GitHub in-process, +${LATENCY_MS} ms per call; reviewers: ${REVIEWERS.length > 0 ? REVIEWERS.join(", ") : "none"}`,
  );
  line(
    `  tasks ready for review: ${readyIssues.length} of ${TASKS}${stuck.length > 0 ? `; stuck after ${TASK_TIMEOUT_MS / 1000} s: issues ${stuck.join(", ")}` : ""}`,
  );
  line(`  task states: ${stateRows.map((row) => `${row.state} ${row.count}`).join(", ")}`);
  if (failures.length > 0) line(`  benchmark failures: ${failures.join("; ")}`);
  line();
  line(
    `GitHub calls per task, label → ready (with the redraws after it), ${readyIssues.length} tasks; the installation token (once an hour) not counted`,
  );
  line(
    `  reads   mean ${fmt(mean(calls.reads))}  min ${fmt(Math.min(...calls.reads))}  max ${fmt(Math.max(...calls.reads))}   (incl. ${fmt(calls.share)} repo-level reads per task: ${[...calls.sharedReadEndpoints].map(([endpoint, count]) => `${endpoint} ×${count}`).join(", ")})`,
  );
  line(
    `  writes  mean ${fmt(meanWrites)}  min ${Math.min(...calls.writes)}  max ${Math.max(...calls.writes)}   target ≤ ${WRITE_TARGET} per task: ${meanWrites <= WRITE_TARGET && Math.max(...calls.writes) <= WRITE_TARGET ? "met" : "NOT met"}`,
  );
  line("  writes by endpoint (per task)                       mean   min   max");
  for (const row of calls.breakdown)
    line(
      `    ${row.endpoint.padEnd(48)} ${row.mean.toFixed(2).padStart(5)} ${String(row.min).padStart(5)} ${String(row.max).padStart(5)}`,
    );
  // Every write of a task, in order, with what it is for (tasks that made the same writes grouped).
  for (const group of listWritesPerTask(github.requests, readyIssues)) {
    const shown = group.issues.slice(0, 8).join(", ") + (group.issues.length > 8 ? ", …" : "");
    line(
      `  the ${group.writes.length} writes of ${group.issues.length} task${group.issues.length === 1 ? "" : "s"} (issue ${shown}), in order:`,
    );
    group.writes.forEach((write, index) =>
      line(
        `    ${String(index + 1).padStart(2)}. ${write.method.padEnd(5)} ${write.endpoint.padEnd(42)} ${write.purpose}`,
      ),
    );
  }
  const redraws = calls.breakdown.filter(
    (row) => row.endpoint === "PATCH /issues/comments/:id" || row.endpoint.includes("/check-runs"),
  );
  line(
    `  of which status comment edits and check-run writes: ${fmt(redraws.reduce((sum, row) => sum + row.mean, 0))} per task`,
  );
  if (calls.unattributedWrites.length > 0)
    line(`  writes no task could be named for: ${calls.unattributedWrites.join(", ")}`);
  const unknown = github.unknownRoutes();
  line(
    `  routes the simulated GitHub did not know: ${unknown.size === 0 ? "none" : [...unknown].map(([route, count]) => `${route} ×${count}`).join(", ")}`,
  );
  line();
  line(
    `orchestration overhead per step, ms (everything but the agent's container run; ${steps.length} steps${incomplete.length > 0 ? `, ${incomplete.length} left out: ${incomplete.slice(0, 5).join("; ")}` : ""})`,
  );
  line(
    "  step       before: dispatched → container running                after: container exited → end event applied",
  );
  for (const role of ["planner", "coder", "reviewer"]) {
    const own = steps.filter((step) => step.role === role);
    line(
      `  ${role.padEnd(9)}  ${formatSpread(own.map((step) => step.runningAt - step.dispatchedAt))}    ${formatSpread(own.map((step) => step.appliedAt - step.exitedAt))}`,
    );
  }
  line(
    `  all steps  ${formatSpread(steps.map((step) => step.runningAt - step.dispatchedAt))}    ${formatSpread(steps.map((step) => step.appliedAt - step.exitedAt))}`,
  );
  line("  where it goes, all steps:");
  const part = (name: string, values: number[]) => line(`    ${name.padEnd(72)} ${formatSpread(values)}`);
  part(
    "queue: dispatched → job leased",
    steps.map((step) => step.claimedAt - step.dispatchedAt),
  );
  part(
    "leased → tarball request (job_started applied, prompt read + rendered)",
    steps.map((step) => step.tarballAt - step.claimedAt),
  );
  part(
    "tarball request → docker create (download, workspace)",
    steps.map((step) => step.startCalledAt - step.tarballAt),
  );
  part(
    "docker create + start",
    steps.map((step) => step.runningAt - step.startCalledAt),
  );
  part(
    "logs + container removal",
    steps.map((step) => step.removedAt - step.exitedAt),
  );
  part(
    "collect, push (coder), evidence, end event applied",
    steps.map((step) => step.appliedAt - step.removedAt),
  );
  part(
    "(the agent itself: container running → exited; not overhead)",
    steps.map((step) => step.exitedAt - step.runningAt),
  );
  line("  around the agent steps:");
  part("label webhook received → draft PR request", labelToDraft);
  part("CI green (check_suite received) → ready_for_review applied", suiteToReadyState);
  part("CI green (check_suite received) → PR out of draft (GraphQL)", suiteToGraphql);
  line("  per task:");
  part("overhead: label→draft PR + 3 × (before + after) + CI→GraphQL", perTaskOverhead);
  part("agents running (3 containers)", agentTime);
  part("label → PR ready, end to end (incl. the CI delay)", endToEnd);
  line();
  line(
    `wall time ${fmt(wallSeconds)} s for ${readyIssues.length} tasks (first label → last PR ready): ${fmt((readyIssues.length / wallSeconds) * 60)} tasks/minute; all effects settled ${Number.isNaN(settledAt) ? "NOT within 60 s" : `${fmt((settledAt - lastReadyAt) / 1000)} s later`}`,
  );
  if (retriedRows.length > 0) {
    line(
      `  effects retried: ${retriedRows.map((row) => `issue ${row.issue_number} ${row.kind} ×${row.attempts} ${row.status} (${String(row.last_error ?? "").slice(0, 120)})`).join("; ")}`,
    );
  }
  if (effectRows.some((row) => row.status === "failed"))
    line(
      `  failed effects: ${effectRows
        .filter((row) => row.status === "failed")
        .map((row) => `${row.kind} ${row.count}`)
        .join(", ")}`,
    );
  line(`  median per task label → ready ${fmt(quantile(endToEnd, 0.5) / 1000)} s`);
  // BENCH_TRACE=<issue>, or by default the task with the most writes when tasks differ.
  const writesOf = new Map(readyIssues.map((issue, index) => [issue, calls.writes[index]!]));
  const heaviest = readyIssues.reduce(
    (most, issue) => (writesOf.get(issue)! > writesOf.get(most)! ? issue : most),
    readyIssues[0] ?? 0,
  );
  const traced = process.env.BENCH_TRACE
    ? Number(process.env.BENCH_TRACE)
    : Math.max(...calls.writes) > Math.min(...calls.writes)
      ? heaviest
      : null;
  if (traced !== null)
    printTrace(traced, {
      labelledAt,
      suiteReceivedAt,
      requests: github.requests,
      transitions,
      steps,
      taskId: taskOfIssue.get(traced) ?? "",
    });
}

/** One task's timeline, ms after its label: GitHub calls, transitions (event → state, effects), containers. */
function printTrace(
  issue: number,
  data: {
    labelledAt: Map<number, number>;
    suiteReceivedAt: Map<number, number>;
    requests: readonly LoopRequest[];
    transitions: readonly TransitionRow[];
    steps: readonly StepTiming[];
    taskId: string;
  },
): void {
  const start = data.labelledAt.get(issue);
  if (start === undefined) return;
  const events: Array<[number, string]> = [
    ...data.requests
      .filter((request) => request.issue === issue)
      .map((request): [number, string] => [
        request.at,
        `${request.method === "GET" ? "  read " : "  WRITE"} ${request.endpoint}${request.note ? `  (${request.note})` : ""}`,
      ]),
    ...data.transitions
      .filter((row) => row.taskId === data.taskId)
      .map((row): [number, string] => [row.at, `state  ${row.event} → ${row.to}  [${row.effects.join(", ")}]`]),
    ...data.steps
      .filter((step) => step.issue === issue)
      .flatMap((step): Array<[number, string]> => [
        [step.runningAt, `agent  ${step.role} container running`],
        [step.exitedAt, `agent  ${step.role} container exited`],
      ]),
    [data.suiteReceivedAt.get(issue) ?? Number.NaN, "ci     check_suite.completed (success) received"],
  ];
  console.log(`\ntimeline of issue ${issue} (ms after its label)`);
  for (const [at, text] of events.sort((a, b) => a[0] - b[0]))
    console.log(`  ${String(at - start).padStart(6)}  ${text}`);
}

await main();
process.exit(0);
