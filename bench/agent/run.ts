/**
 * A real Claude Code job through Foreman against a bare `docker run` of the same image and
 * command, on the same scripted model (test/support/model-server, in a container known as
 * `model.test`). Prints:
 *
 *   1. the job: Foreman's `runAgentJob` with the built-in `claude-code` profile (workspace from a
 *      tarball, the job's egress network and policy, the container as the agent user with a
 *      private HOME, logs, the egress records, the diff and its guardrails) against
 *      `docker run --rm` of the image with the profile's command on the model's own network, the
 *      workspace already there; interleaved; medians, p95s and the ratio (target ≤ 1.2×);
 *   2. label → the CLI's first request to the model API, through the whole app (Probot, inbox,
 *      state machine, outbox, job runner; GitHub simulated in-process as in bench:happy);
 *   3. what the egress proxy adds to one request: the same HTTP request from a container on a job
 *      network through the proxy, and from one on the model's network straight to it (a new
 *      connection each time, as the worst case; a CLI keeps its connection open).
 *
 *   npm run bench:agent [-- runs=9]
 *
 * Needs Docker and the images of `npm run images:build` and scripts/ci/setup-docker.sh; PostgreSQL
 * at DATABASE_URL, or an embedded one. Everything it creates is named foreman-agentbench-… and is
 * removed at the end. Asserts nothing.
 */
import { execFile } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import Docker from "dockerode";
import { dockerOptionsFromHost } from "../../src/agents/docker-runner.js";
import { toEgressRules } from "../../src/agents/egress/egress-rule.js";
import { buildEgressNames, EGRESS_PROXY_ALIAS } from "../../src/agents/egress/egress-spec.js";
import { AGENT_HOME, AGENT_USER, BUILT_IN_PROFILES, type ProfileSources } from "../../src/agents/profiles.js";
import { runAgentJob } from "../../src/agents/run-agent-job.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { buildTestEnv } from "../../test/helpers/test-foreman.js";
import { MODEL_SERVER_IMAGE } from "../../test/support/model-server/model-container.js";
import { buildRepoTarball } from "../../test/integration/agents/repo-tarball.js";
import { requireRealAgentImages, startRealAgentWorld } from "../../test/integration/agents/real-agent-world.js";
import { createLoopGitHub } from "../happy-path/loop-github.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { quantile } from "../lib/stats.js";

const IMAGE = "foreman-agents/claude-code:latest";
const WARMUP = 1;
const runs = Math.max(5, Number(/^runs=(\d+)$/.exec(process.argv[2] ?? "")?.[1] ?? 9));
const LABEL_RUNS = 5;
const PROBE_REQUESTS = 60;
const FILES = { "hello.txt": "hello wrold\n" };
/** The same conversation every time: read, edit, answer (three model requests, plus Claude Code's HEAD probe). */
const SCENARIO = {
  turns: [
    { tool: "read", path: "hello.txt" },
    { tool: "edit", path: "hello.txt", old: "wrold", new: "world" },
    { say: "Fixed the greeting." },
  ],
};
const exec = promisify(execFile);

async function main(): Promise<void> {
  await requireRealAgentImages();
  const docker = new Docker(dockerOptionsFromHost(process.env.DOCKER_HOST));
  const world = await startRealAgentWorld("agentbench");
  const scratch = await mkdtemp(join(tmpdir(), "foreman-agentbench-"));
  try {
    const job = await benchJob(world, scratch);
    const label = await benchLabelToFirstRequest(world, scratch);
    const proxy = await benchProxyLatency(docker, world);
    printReport(job, label, proxy);
  } finally {
    await world.remove();
    await rm(scratch, { recursive: true, force: true });
  }
}

type World = Awaited<ReturnType<typeof startRealAgentWorld>>;

/** 1. Foreman's job and the bare `docker run`, interleaved. */
async function benchJob(world: World, scratch: string): Promise<{ foreman: number[]; bare: number[] }> {
  const sources: ProfileSources = {
    builtIn: BUILT_IN_PROFILES,
    imageAllowlist: [],
    egressAllow: toEgressRules([world.model.hostPort]),
  };
  const tarball = await buildRepoTarball(FILES);
  const upstream = buildEgressNames(world.prefix).upstream;
  const command = BUILT_IN_PROFILES["claude-code"]!.command;

  async function timeForeman(index: number): Promise<number> {
    await world.model.loadScenario(SCENARIO);
    const started = performance.now();
    const outcome = await runAgentJob(
      {
        taskId: "bench",
        jobId: `agentbench-${process.pid}-${index}`,
        replica: world.replica,
        profileName: "claude-code",
        profileSources: sources,
        prompt: "Fix the greeting in hello.txt.",
        context: {},
        agentSecrets: world.agentEnv,
        workspaceBaseDir: scratch,
      },
      { runner: world.runner, fetchTarball: async () => tarball, now: () => new Date() },
    );
    const elapsed = performance.now() - started;
    if (outcome.kind !== "succeeded" || outcome.changes.length !== 1)
      throw new Error(`the Foreman job did not edit hello.txt: ${JSON.stringify(outcome).slice(0, 2000)}`);
    return elapsed;
  }

  async function timeBare(index: number): Promise<number> {
    await world.model.loadScenario(SCENARIO);
    // What a bare run needs and Foreman makes itself: a checkout and the prompt, owned by the agent user.
    const dir = join(scratch, `bare-${index}`);
    await mkdir(join(dir, "workspace"), { recursive: true });
    await mkdir(join(dir, "foreman", "out"), { recursive: true });
    await writeFile(join(dir, "workspace", "hello.txt"), FILES["hello.txt"]);
    await writeFile(join(dir, "foreman", "prompt.md"), "Fix the greeting in hello.txt.");
    for (const path of [join(dir, "workspace"), join(dir, "workspace", "hello.txt"), join(dir, "foreman", "out")]) {
      await chown(path, 1000, 1000);
      await chmod(path, 0o755);
    }
    const env = Object.entries(world.agentEnv)
      .filter(([name]) => name.startsWith("ANTHROPIC_") || name === "CLAUDE_CODE_MAX_RETRIES")
      .flatMap(([name, value]) => ["-e", `${name}=${value}`]);
    const started = performance.now();
    const { stdout } = await exec("docker", [
      "run",
      "--rm",
      `--network=${upstream}`,
      `--user=${AGENT_USER}`,
      `--tmpfs=${AGENT_HOME}:uid=1000,gid=1000,mode=0700`,
      `-e`,
      `HOME=${AGENT_HOME}`,
      ...env,
      `-v`,
      `${join(dir, "workspace")}:/workspace`,
      `-v`,
      `${join(dir, "foreman")}:/foreman`,
      "-w",
      "/workspace",
      IMAGE,
      ...command,
    ]);
    const elapsed = performance.now() - started;
    if (!stdout.includes('"is_error":false')) throw new Error(`the bare run failed: ${stdout.slice(0, 2000)}`);
    return elapsed;
  }

  const foreman: number[] = [];
  const bare: number[] = [];
  for (let index = 0; index < WARMUP + runs; index += 1) {
    const first = index % 2 === 0;
    const a = first ? await timeForeman(index) : await timeBare(index);
    const b = first ? await timeBare(index) : await timeForeman(index);
    if (index < WARMUP) continue;
    foreman.push(first ? a : b);
    bare.push(first ? b : a);
    process.stderr.write(`  job run ${index + 1 - WARMUP}/${runs}\n`);
  }
  return { foreman, bare };
}

/** 2. Label → the CLI's first request to the model, through the whole app, one issue at a time. */
async function benchLabelToFirstRequest(world: World, scratch: string): Promise<number[]> {
  const github = createLoopGitHub({
    owner: "Codertocat",
    repo: "Hello-World",
    defaultBranch: "master",
    config: "agent: claude-code\npipeline: [coder]",
    tarball: await buildRepoTarball(FILES),
    diff: "",
    firstPullNumber: 100_000,
    latencyMs: 0,
  });
  const bench = await openBenchDatabase();
  const quiet = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const foreman = await buildForeman({
    env: buildTestEnv({
      ...world.foremanEnv,
      LOG_LEVEL: "warn",
      // Production's settings: LISTEN/NOTIFY wakes the loops, the poll is the fallback.
      POLL_INTERVAL_MS: "1000",
      DISPLAY_DELAY_MS: "1000",
      ARTIFACTS_DIR: join(scratch, "artifacts"),
      WORKSPACE_DIR: join(scratch, "label-workspaces"),
      PUBLIC_URL: "https://foreman.example.test",
    }),
    database: bench.database,
    log: createLogger({ level: "warn", secrets: [], destination: quiet }),
    octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false, fetch: github.fetch as typeof fetch },
    worker: { listen: true },
    agents: { enabled: true, heartbeatMs: 1000 },
  });
  await foreman.start({ listen: false, compliance: false });
  const times: number[] = [];
  try {
    for (let issue = 1; issue <= LABEL_RUNS; issue += 1) {
      await world.model.loadScenario(SCENARIO);
      const labelledAt = performance.now();
      const first = world.model.requests(1);
      await foreman.probot.receive({
        id: `agentbench-${process.pid}-${issue}`,
        name: "issues",
        payload: buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: issue, sender: "bench" }),
      } as never);
      await first;
      times.push(performance.now() - labelledAt);
      // The next issue starts when this one's job is over, so each measures an idle Foreman.
      for (let waited = 0; waited < 120_000; waited += 100) {
        const [row] = await bench.database.sql`
          select count(*)::int as open from agent_jobs where status in ('queued', 'running')`;
        if (row?.open === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await foreman.stop();
    await bench.close();
  }
  return times;
}

/** 3. One request's time through the proxy (job network) and straight to the model (its own network). */
async function benchProxyLatency(docker: Docker, world: World): Promise<{ proxied: number[]; direct: number[] }> {
  // Node's http, a new connection per request; through the proxy the request names the absolute URL.
  const script = `
    const http = require("node:http");
    const proxied = process.argv[1] === "proxied";
    const options = proxied
      ? { host: "${EGRESS_PROXY_ALIAS}", port: 3128, path: "http://${world.model.hostPort}/__health" }
      : { host: "${world.model.hostPort.split(":")[0]}", port: 8080, path: "/__health" };
    const once = () => new Promise((resolve, reject) => {
      const started = process.hrtime.bigint();
      const request = http.request({ ...options, agent: false }, (response) => {
        response.resume();
        response.on("end", () => resolve(Number(process.hrtime.bigint() - started) / 1e6));
      });
      request.on("error", reject);
      request.end();
    });
    (async () => {
      const times = [];
      for (let i = 0; i < ${PROBE_REQUESTS}; i += 1) times.push(await once());
      console.log(JSON.stringify(times.slice(10)));
    })().catch((error) => { console.error(String(error)); process.exit(1); });`;
  const probe = async (network: string, mode: "proxied" | "direct"): Promise<number[]> => {
    const container = await docker.createContainer({
      name: `${world.prefix}-probe-${mode}`,
      Image: MODEL_SERVER_IMAGE,
      User: AGENT_USER,
      Entrypoint: ["node", "-e", script, mode],
      HostConfig: { NetworkMode: network },
    });
    try {
      await container.start();
      const exit = (await container.wait()) as { StatusCode: number };
      const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
      const text = demultiplex(logs);
      if (exit.StatusCode !== 0) throw new Error(`the ${mode} probe failed: ${text}`);
      return JSON.parse(text.trim().split("\n").at(-1)!) as number[];
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  };
  const session = await world.runner.openEgress!({
    taskId: "bench",
    jobId: `agentbench-probe-${process.pid}`,
    replica: world.replica,
    rules: toEgressRules([world.model.hostPort]),
  });
  try {
    const proxied = await probe(session.network, "proxied");
    const direct = await probe(buildEgressNames(world.prefix).upstream, "direct");
    return { proxied, direct };
  } finally {
    await world.runner.closeEgress!(session);
  }
}

// Docker's multiplexed log stream (8-byte frame headers) as text.
function demultiplex(buffer: Buffer): string {
  let text = "";
  for (let offset = 0; offset + 8 <= buffer.length;) {
    const size = buffer.readUInt32BE(offset + 4);
    text += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return text;
}

function printReport(
  job: { foreman: number[]; bare: number[] },
  label: number[],
  proxy: { proxied: number[]; direct: number[] },
): void {
  const ms = (value: number) => `${value.toFixed(1).padStart(8)} ms`;
  const row = (name: string, values: readonly number[]) =>
    `${name.padEnd(48)} median ${ms(quantile(values, 0.5))}   p95 ${ms(quantile(values, 0.95))}`;
  console.log(`real Claude Code (${IMAGE}), scripted model: ${SCENARIO.turns.length} model turns per run`);
  console.log(`\n1. one job, ${job.foreman.length} runs each (after ${WARMUP} warm-up), interleaved`);
  console.log(row("Foreman runAgentJob (claude-code profile, egress)", job.foreman));
  console.log(row("bare docker run (same image and command)", job.bare));
  const ratio = quantile(job.foreman, 0.5) / quantile(job.bare, 0.5);
  console.log(`ratio (median) ${ratio.toFixed(2)}×   target ≤ 1.20×   ${ratio <= 1.2 ? "met" : "NOT met"}`);
  // The overhead is fixed per job: on a conversation of minutes instead of seconds the ratio nears 1.
  const overhead = quantile(job.foreman, 0.5) - quantile(job.bare, 0.5);
  console.log(`Foreman adds ${overhead.toFixed(0)} ms per job (difference of the medians)`);
  console.log(`\n2. label → the CLI's first request to the model API, ${label.length} issues one at a time`);
  console.log(row("label → first model request", label));
  console.log(`\n3. one HTTP request, a new connection each, ${proxy.proxied.length} requests each`);
  console.log(row("through the egress proxy (job network)", proxy.proxied));
  console.log(row("straight to the model (its network)", proxy.direct));
  const added = quantile(proxy.proxied, 0.5) - quantile(proxy.direct, 0.5);
  console.log(`the proxy adds ${added.toFixed(2)} ms per request (median)`);
}

await main();
