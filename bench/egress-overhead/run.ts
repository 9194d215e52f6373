/**
 * What the egress firewall adds to one job: the job network's steps one by one (create, connect
 * the proxy, disconnect, remove, straight through dockerode), the runner's whole open and close
 * (the same steps plus the policy file and reading the job's records back), and a trivial job
 * (`echo hi`) with `network: egress` against the same job with `network: none`. Prints medians
 * and p95s; asserts nothing.
 *
 *   npx tsx bench/egress-overhead/run.ts [runs=15]
 *
 * Needs the daemon and the test image from scripts/ci/setup-docker.sh, and the proxy image from
 * `npm run images:build` (or EGRESS_PROXY_IMAGE). Everything it creates is named
 * foreman-egressbench-<pid>-… and removed at the end.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Docker from "dockerode";
import { DockerRunner, dockerOptionsFromHost } from "../../src/agents/docker-runner.js";
import { buildEgressNames, buildJobNetworkSpec, EGRESS_PROXY_ALIAS } from "../../src/agents/egress/egress-spec.js";
import { buildContainerSpec } from "../../src/agents/job-spec.js";
import type { ResolvedProfile } from "../../src/agents/profiles.js";
import type { EgressSession } from "../../src/agents/runner.js";
import { prepareWorkspace, type PreparedWorkspace } from "../../src/agents/workspace.js";
import { buildRepoTarball } from "../../test/integration/agents/repo-tarball.js";

const IMAGE = "foreman-test/busybox:latest";
const PROXY_IMAGE = process.env.EGRESS_PROXY_IMAGE ?? "foreman-agents/egress-proxy:latest";
const PREFIX = `foreman-egressbench-${process.pid}`;
const WARMUP = 2;
const runs = Math.max(5, Number(process.argv[2] ?? 15));

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
  const dockerOptions = dockerOptionsFromHost(process.env.DOCKER_HOST);
  const docker = new Docker(dockerOptions);
  const dir = await mkdtemp(join(tmpdir(), "foreman-egressbench-"));
  const runner = new DockerRunner(
    dockerOptions,
    {},
    { egress: { image: PROXY_IMAGE, prefix: PREFIX, dir, internalAllow: [], replica: PREFIX } },
  );
  if (!(await runner.ping()) || !(await runner.hasImage(IMAGE)) || !(await runner.hasImage(PROXY_IMAGE))) {
    throw new Error(
      `Docker, ${IMAGE} or ${PROXY_IMAGE} is missing: run scripts/ci/setup-docker.sh and npm run images:build.`,
    );
  }
  const names = buildEgressNames(PREFIX);
  const steps = { create: [] as number[], connect: [] as number[], disconnect: [] as number[], remove: [] as number[] };
  const openClose = { open: [] as number[], close: [] as number[] };
  const jobs = { none: [] as number[], egress: [] as number[] };
  try {
    let started = performance.now();
    const proxy = await runner.ensureEgressProxy();
    console.log(`proxy start (first job on a replica): ${(performance.now() - started).toFixed(0)} ms`);
    started = performance.now();
    await runner.ensureEgressProxy();
    console.log(`proxy check (every later job): ${(performance.now() - started).toFixed(0)} ms`);
    const paths = await prepareWorkspace({
      baseDir: dir,
      jobId: "bench",
      tarball: await buildRepoTarball({ "README.md": "bench\n" }),
      prompt: "",
      context: {},
      sandboxUser: { uid: 65534, gid: 65534 },
      now: new Date(),
    });

    for (let index = 0; index < WARMUP + runs; index += 1) {
      const keep = index >= WARMUP;
      const jobId = `${PREFIX}-${index}`;
      // 1. The raw steps.
      const spec = buildJobNetworkSpec({ names, taskId: "bench", jobId: `${jobId}-raw`, replica: PREFIX });
      const timed = async (into: number[], step: () => Promise<unknown>) => {
        const at = performance.now();
        await step();
        if (keep) into.push(performance.now() - at);
      };
      await timed(steps.create, () => docker.createNetwork(spec));
      const network = docker.getNetwork(spec.Name);
      await timed(steps.connect, () =>
        network.connect({ Container: proxy.id, EndpointConfig: { Aliases: [EGRESS_PROXY_ALIAS] } }),
      );
      await timed(steps.disconnect, () => network.disconnect({ Container: proxy.id, Force: true }));
      await timed(steps.remove, () => network.remove());
      // 2. The runner's open and close, around no container.
      let session: EgressSession | undefined;
      await timed(openClose.open, async () => {
        session = await runner.openEgress({ taskId: "bench", jobId: `${jobId}-oc`, replica: PREFIX, rules: [] });
      });
      await timed(openClose.close, () => runner.closeEgress(session!));
      // 3. A trivial job, without and with egress (alternating which goes first).
      const order = index % 2 === 0 ? (["none", "egress"] as const) : (["egress", "none"] as const);
      for (const mode of order) await timed(jobs[mode], () => runJob(runner, paths, `${jobId}-${mode}`, mode));
    }
  } finally {
    await runner.removeEgressProxy().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
  const row = (label: string, values: readonly number[]): string =>
    `${label.padEnd(44)} median ${percentile(values, 50).toFixed(1).padStart(7)} ms   p95 ${percentile(values, 95).toFixed(1).padStart(7)} ms`;
  console.log(`egress overhead, ${runs} runs (after ${WARMUP} warm-up runs)`);
  console.log(row("docker network create (internal)", steps.create));
  console.log(row("docker network connect (the proxy)", steps.connect));
  console.log(row("docker network disconnect (the proxy)", steps.disconnect));
  console.log(row("docker network rm", steps.remove));
  console.log(row("runner.openEgress (+ policy, proxy check)", openClose.open));
  console.log(row("runner.closeEgress (+ records, policy)", openClose.close));
  console.log(row("job echo hi, network: none", jobs.none));
  console.log(row("job echo hi, network: egress (open → close)", jobs.egress));
  console.log(
    `egress adds (median) ${(percentile(jobs.egress, 50) - percentile(jobs.none, 50)).toFixed(0)} ms per job`,
  );
}

async function runJob(
  runner: DockerRunner,
  paths: PreparedWorkspace,
  jobId: string,
  mode: "none" | "egress",
): Promise<void> {
  const session =
    mode === "egress" ? await runner.openEgress({ taskId: "bench", jobId, replica: PREFIX, rules: [] }) : null;
  try {
    const spec = buildContainerSpec(
      { ...profile, network: mode },
      {
        taskId: "bench",
        jobId,
        replica: PREFIX,
        paths,
        hostEnv: {},
        script: "echo hi",
        ...(session ? { egress: session } : {}),
      },
    );
    if (!spec.ok) throw new Error(spec.error.message);
    const handle = await runner.start(spec.value);
    await runner.wait(handle, { timeoutMs: 60_000 });
    const logs = await runner.logs(handle);
    await runner.remove(handle);
    if (logs.lines[0]?.line !== "hi") throw new Error(`unexpected job output ${JSON.stringify(logs)}`);
  } finally {
    if (session !== null) await runner.closeEgress(session);
  }
}

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

await main();
