import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, expect, test } from "vitest";
import Docker from "dockerode";
import { buildDockerOptions } from "../../src/agents/docker-connection.js";
import { DockerRunner } from "../../src/agents/docker-runner.js";
import { JOB_LABELS } from "../../src/agents/job-spec.js";
import type { AgentJobOutcome } from "../../src/agents/job-outcome.js";
import { runAgentJob, type AgentJobRequest } from "../../src/agents/run-agent-job.js";
import type { JobHandle } from "../../src/agents/runner.js";
import { classifyJobFailure, decideJobRetry } from "../../src/workflow/job-failure.js";
import { TEST_IMAGE } from "../integration/agents/docker-available.js";
import { buildRepoTarball } from "../integration/agents/repo-tarball.js";
import { createTempDir, scriptJob } from "../integration/agents/sandbox-fixtures.js";
import { percentile95 } from "./fault-run.js";
import { copyImage, startPrivateDockerDaemon, type PrivateDockerDaemon } from "./private-docker-daemon.js";

// A Docker daemon of the test's own (as root), killed while a job's container runs and started
// again: the job must end as the operator's problem (an infrastructure failure, which the retry
// ladder tries again), leave no container and no workspace behind, and its retry on the daemon once
// it is back must do the work once. The shared daemon is only read from (the test image is copied).

let daemon: PrivateDockerDaemon;
let temp: Awaited<ReturnType<typeof createTempDir>>;
let tarball: Buffer;

beforeAll(async () => {
  daemon = await startPrivateDockerDaemon();
  await copyImage(new Docker({ socketPath: "/var/run/docker.sock" }), daemon.docker, TEST_IMAGE);
  temp = await createTempDir("foreman-docker-fault-");
  tarball = await buildRepoTarball({ "README.md": "# Widgets\n" });
});
afterAll(async () => {
  await daemon?.close();
  await temp?.cleanup();
});

/** Foreman's runner on the private daemon, reached as `DOCKER_HOST=unix://…` says (src/agents/docker-connection.ts). */
function buildRunner(): DockerRunner {
  return new DockerRunner(buildDockerOptions({ host: daemon.host }), { timeoutMs: 20_000 });
}

function runJob(
  runner: DockerRunner,
  request: AgentJobRequest,
  onStarted?: (handle: JobHandle) => void,
): Promise<AgentJobOutcome> {
  return runAgentJob(request, {
    runner,
    fetchTarball: async () => tarball,
    now: () => new Date(),
    ...(onStarted ? { onStarted } : {}),
  });
}

/** Containers of Foreman's jobs on the private daemon (any state). */
async function listJobContainers(): Promise<string[]> {
  const containers = await daemon.docker.listContainers({ all: true, filters: { label: [JOB_LABELS.job] } });
  return containers.map((container) => `${container.Labels[JOB_LABELS.job]} ${container.State}`);
}

/** Resolves once the container runs and has printed its first line (the agent is under way). */
async function waitUntilRunning(containerId: string): Promise<void> {
  for (;;) {
    const info = await daemon.docker.getContainer(containerId).inspect();
    if (info.State.Running) {
      const logs = await daemon.docker.getContainer(containerId).logs({ stdout: true, stderr: true });
      if (logs.toString("utf8").includes("agent started")) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const WORK = [
  "echo agent started",
  "echo fixed >> README.md",
  `printf '{"status":"success","summary":"fixed"}' > /foreman/out/result.json`,
].join("\n");

test.for([
  ["SIGKILL", "Docker daemon killed (SIGKILL) while a job runs"],
  ["SIGTERM", "Docker daemon stopped (SIGTERM) while a job runs"],
] as const)(
  "%s: an infrastructure failure retried on the daemon once it is back; nothing left behind",
  { timeout: 300_000 },
  async ([signal, fault], { task }) => {
    const runner = buildRunner();
    const first = scriptJob(temp.dir, "echo agent started\nsleep 300", { replica: "fault-replica" });
    let started: JobHandle | null = null;
    const startedAt = performance.now();
    const outcome = runJob(runner, first, (handle) => {
      started = handle;
    });
    while (started === null) await new Promise((resolve) => setTimeout(resolve, 20));
    await waitUntilRunning((started as JobHandle).containerId);
    await daemon.kill(signal);
    await daemon.restart();
    const ended = await outcome;

    // 1. The job's end: the operator's problem, in plain words, and the retry ladder tries it again.
    expect(ended.kind).toBe("failed");
    if (ended.kind !== "failed") return;
    expect(classifyJobFailure(ended.code)).toBe("infrastructure");
    expect(ended.message).toMatch(/Docker/);
    const decision = decideJobRetry(
      { code: ended.code, transient: true },
      { attempt: 1, maxAttempts: 3, baseSha: "base" },
    );
    expect(decision).toEqual({ retry: true, baseSha: "base" });

    // 2. Nothing left behind: no container (in any state) on the daemon, no workspace on the host.
    expect(await listJobContainers()).toEqual([]);
    expect(await readdir(temp.dir)).toEqual([]);

    // 3. The retry (a new attempt, as the job runner would lease it) on the daemon once it is back.
    const retried = await runJob(
      runner,
      scriptJob(temp.dir, WORK, { replica: "fault-replica", jobId: `${first.jobId}-2` }),
    );
    const doneAt = performance.now();
    if (retried.kind !== "succeeded") throw new Error(`the retry failed: ${retried.code}: ${retried.message}`);
    expect(retried.changes.map((change) => change.path)).toEqual(["README.md"]);
    expect(await listJobContainers()).toEqual([]);
    expect(await readdir(temp.dir)).toEqual([]);

    task.meta.faultRow = {
      fault,
      tasks: 1,
      finished: 1,
      duplicates: 0,
      lost: 0,
      p95Ms: percentile95([doneAt - startedAt]),
      addedP95Ms: null,
      injected: 1,
    };
  },
);
