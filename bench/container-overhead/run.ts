/**
 * Container overhead of one agent job: the same trivial script through Foreman's runner
 * (spec building + start + wait + logs + remove, i.e. what a job costs beyond the agent's
 * own work) against a bare `docker run --rm … sh -c 'echo hi'`, interleaved in one run so
 * both see the same daemon state. Prints medians, p95s and the ratio (target ≤ 1.2×).
 *
 *   npx tsx bench/container-overhead/run.ts [runs=25]
 *
 * Needs the daemon and the test image from scripts/ci/setup-docker.sh.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { DockerRunner, dockerOptionsFromHost } from "../../src/agents/docker-runner.js";
import { buildContainerSpec } from "../../src/agents/job-spec.js";
import type { ResolvedProfile } from "../../src/agents/profiles.js";
import { prepareWorkspace } from "../../src/agents/workspace.js";
import { buildRepoTarball } from "../../test/integration/agents/repo-tarball.js";

const IMAGE = "foreman-test/busybox:latest";
const WARMUP = 2;
const runs = Math.max(20, Number(process.argv[2] ?? 25));
const run = promisify(execFile);

const profile: ResolvedProfile = {
  name: "script",
  image: IMAGE,
  command: [],
  env: [],
  network: "none",
  timeoutSeconds: 60,
  memoryMb: 256,
};

async function main(): Promise<void> {
  // The entry point is where the environment is read; the runner only gets options.
  const runner = new DockerRunner(dockerOptionsFromHost(process.env.DOCKER_HOST));
  if (!(await runner.ping()) || !(await runner.hasImage(IMAGE))) {
    throw new Error(`Docker or ${IMAGE} is missing: run scripts/ci/setup-docker.sh first.`);
  }
  const baseDir = await mkdtemp(join(tmpdir(), "foreman-bench-"));
  try {
    // The workspace is prepared once: its cost depends on the repository, not on containers.
    const paths = await prepareWorkspace({
      baseDir,
      jobId: "bench",
      tarball: await buildRepoTarball({ "README.md": "bench\n" }),
      prompt: "",
      context: {},
      sandboxUser: { uid: 65534, gid: 65534 },
      now: new Date(),
    });

    async function timeForemanJob(index: number): Promise<number> {
      const started = performance.now();
      const spec = buildContainerSpec(profile, {
        taskId: "bench",
        jobId: `bench-${process.pid}-${index}`,
        replica: "bench",
        paths,
        hostEnv: {},
        script: "echo hi",
      });
      if (!spec.ok) throw new Error(spec.error.message);
      const handle = await runner.start(spec.value);
      const exit = await runner.wait(handle, { timeoutMs: 60_000 });
      const logs = await runner.logs(handle);
      await runner.remove(handle);
      if (exit.exitCode !== 0 || logs.lines[0]?.line !== "hi")
        throw new Error(`unexpected job result ${JSON.stringify({ exit, logs })}`);
      return performance.now() - started;
    }

    async function timeDockerRun(): Promise<number> {
      const started = performance.now();
      const { stdout } = await run("docker", ["run", "--rm", IMAGE, "sh", "-c", "echo hi"]);
      if (stdout !== "hi\n") throw new Error(`unexpected docker run output ${JSON.stringify(stdout)}`);
      return performance.now() - started;
    }

    const foreman: number[] = [];
    const bare: number[] = [];
    for (let index = 0; index < WARMUP + runs; index += 1) {
      // Alternate which goes first, so neither always benefits from the other's warm caches.
      let job: number;
      let plain: number;
      if (index % 2 === 0) {
        job = await timeForemanJob(index);
        plain = await timeDockerRun();
      } else {
        plain = await timeDockerRun();
        job = await timeForemanJob(index);
      }
      if (index >= WARMUP) {
        foreman.push(job);
        bare.push(plain);
      }
    }
    report(foreman, bare);
  } finally {
    await rm(baseDir, { recursive: true, force: true });
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function report(foreman: readonly number[], bare: readonly number[]): void {
  const row = (label: string, values: readonly number[]): string =>
    `${label.padEnd(34)} median ${percentile(values, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(values, 95).toFixed(1).padStart(7)} ms`;
  console.log(`container overhead, ${foreman.length} runs each (after ${WARMUP} warm-up runs), interleaved`);
  console.log(row("Foreman runner job (echo hi)", foreman));
  console.log(row("docker run --rm (echo hi)", bare));
  console.log(`ratio (median)  ${(percentile(foreman, 50) / percentile(bare, 50)).toFixed(2)}×   target ≤ 1.20×`);
  console.log(`ratio (p95)     ${(percentile(foreman, 95) / percentile(bare, 95)).toFixed(2)}×`);
}

await main();
