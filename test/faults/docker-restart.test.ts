import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, expect, test } from "vitest";
import { JOB_LABELS } from "../../src/agents/job-spec.js";
import { sweepWorkspaces } from "../../src/agents/workspace.js";
import { REPO } from "../helpers/github-mock.js";
import { startFakeGitHubServer, type FakeGitHubServer } from "../helpers/fake-github-server.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { useTestDatabase } from "../helpers/test-database.js";
import type { TestForeman } from "../helpers/test-foreman.js";
import { TEST_IMAGE } from "../integration/agents/docker-available.js";
import { buildRepoTarball } from "../integration/agents/repo-tarball.js";
import {
  buildFaultEnv,
  buildFaultRow,
  countDuplicates,
  resetWorld,
  startFaultForeman,
  type LoopRun,
} from "./fault-run.js";
import {
  copyImage,
  hasHostInterface,
  startPrivateDockerDaemon,
  type PrivateDockerDaemon,
} from "./private-docker-daemon.js";

// The loop's agent step on a Docker daemon of the test's own (src: private-docker-daemon.ts), which
// is stopped (SIGTERM, or SIGKILL) and started again while every task's agent runs. Without
// live-restore the agents' containers die with the daemon: each job must end that attempt as
// Foreman's infrastructure trouble (never the agent's), run again once the daemon is back and push
// its commit once, and leave no container and no workspace behind. The shared daemon is only read
// from (the test image is copied) and its bridge `docker0` is checked to survive.

const TASKS = 2;
const database = useTestDatabase();
const hadBridge = hasHostInterface("docker0");
let daemon: PrivateDockerDaemon;
let github: FakeGitHubServer;
let clean: AgentLoopRun | null = null;

/** The coder: says it started, works a few seconds (the daemon goes away meanwhile), fixes README.md. */
const CODER_SCRIPT = [
  "echo agent started",
  "sleep 3",
  "cd /workspace && printf 'The README.\\n' > README.md",
  `printf '%s' '{"status":"success","summary":"Fixed the spelling in README.md.","title":"Fix README spelling"}' > /foreman/out/result.json`,
].join(" && ");

/** One coder step, a CI wait longer than the test: the task's step is done once its commit is pushed. */
const CONFIG = [
  "agent: coder-script",
  "pipeline: [coder]",
  "ci:",
  "  waitMinutes: 60",
  "  whenMissing: wait",
  "profiles:",
  "  coder-script:",
  `    image: ${TEST_IMAGE}`,
  `    command: ["sh", "-c", ${JSON.stringify(CODER_SCRIPT)}]`,
  "    env: []",
  "    network: none",
  "    timeoutSeconds: 120",
  "    memoryMb: 256",
].join("\n");

beforeAll(async () => {
  daemon = await startPrivateDockerDaemon();
  await copyImage(new Docker({ socketPath: "/var/run/docker.sock" }), daemon.docker, TEST_IMAGE);
  github = await startFakeGitHubServer(REPO.owner, REPO.name, {
    repository: {
      config: CONFIG,
      paths: ["README.md"],
      tarball: await buildRepoTarball({ "README.md": "Teh README.\n" }),
    },
  });
}, 180_000);
afterAll(async () => {
  await github?.close();
  await daemon?.close();
  // A private dockerd must never take the shared daemon's bridge with it.
  if (hadBridge) expect(hasHostInterface("docker0")).toBe(true);
}, 180_000);

/** Foreman's job containers on the private daemon, in any state. */
async function listJobContainers(): Promise<Docker.ContainerInfo[]> {
  return daemon.docker.listContainers({ all: true, filters: { label: [JOB_LABELS.job] } });
}

/** Resolves once `count` agents run and have printed their first line (the agents are under way). */
async function waitForRunningAgents(count: number): Promise<void> {
  for (;;) {
    const running = (await listJobContainers()).filter((container) => container.State === "running");
    const started = await Promise.all(
      running.map(async (container) =>
        (await daemon.docker.getContainer(container.Id).logs({ stdout: true, stderr: true }))
          .toString("utf8")
          .includes("agent started"),
      ),
    );
    if (started.filter(Boolean).length >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What one run left beyond the fault table's figures: the pushes per branch and the retries' reasons. */
interface AgentLoopRun extends LoopRun {
  pushesPerBranch: Map<string, number>;
  retryReasons: string[];
}

/**
 * Label `TASKS` issues, then wait until nothing is left to run (no job queued or running, no
 * effect open, no due inbox row), timing each task from its label to its coder's commit on the
 * branch (the task then waits for CI). `during` runs alongside, once every label is delivered.
 */
async function runAgentLoop(foreman: TestForeman, during?: () => Promise<void>): Promise<AgentLoopRun> {
  const startedAt = new Map<number, number>();
  const doneAt = new Map<number, number>();
  for (let issue = 1; issue <= TASKS; issue += 1) {
    startedAt.set(issue, performance.now());
    const payload = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: issue });
    await foreman.receive("issues", payload, `docker-fault-${issue}-${Date.now()}`);
  }
  let sideDone = during === undefined;
  const side = during?.().finally(() => {
    sideDone = true;
  });
  // A failed `during` fails the run at once instead of leaving it to wait.
  const sideFailed = side?.then(
    () => null,
    (error: unknown) => error,
  );
  let failure: unknown = null;
  void sideFailed?.then((error) => {
    failure = error;
  });
  for (;;) {
    if (failure) throw failure as Error;
    const rows = await database.sql<{ issue_number: number }[]>`
      select issue_number from tasks where state = 'awaiting_ci' and head_sha is not null`;
    for (const row of rows) if (!doneAt.has(row.issue_number)) doneAt.set(row.issue_number, performance.now());
    const [open] = await database.sql<{ open: number }[]>`
      select (select count(*) from agent_jobs where status in ('queued', 'running'))
           + (select count(*) from effects where status in ('pending', 'running'))
           + (select count(*) from webhook_deliveries where status = 'pending' and available_at <= now()) as open`;
    if (Number(open?.open) === 0 && sideDone) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await side;
  const pushesPerBranch = new Map<string, number>();
  // A push is one createCommitOnBranch (the agent's plain files) or a ref update (the Git Data path).
  for (const write of github.writes) {
    const ref = write.ref ?? (write.method === "PATCH" ? /\/git\/(refs\/heads\/.+)$/.exec(write.path)?.[1] : undefined);
    if (ref !== undefined) pushesPerBranch.set(ref, (pushesPerBranch.get(ref) ?? 0) + 1);
  }
  const retryReasons = foreman.logs
    .map((line) => JSON.parse(line) as { msg?: string; reason?: string })
    .filter((entry) => entry.msg === "agent job will be retried")
    .map((entry) => entry.reason ?? "");
  return {
    tasks: TASKS,
    finished: doneAt.size,
    lost: TASKS - doneAt.size,
    duplicates: countDuplicates(github) + [...pushesPerBranch.values()].reduce((sum, count) => sum + count - 1, 0),
    durationsMs: [...doneAt].map(([issue, at]) => at - startedAt.get(issue)!),
    pushesPerBranch,
    retryReasons,
  };
}

/** Run the loop on a fresh world with agents on the private daemon; Foreman stopped and the directories removed after. */
async function runOnPrivateDaemon(
  during?: () => Promise<void>,
): Promise<AgentLoopRun & { workspaces: string[]; workspacesAfterExpiry: string[] }> {
  await resetWorld(database, github, null);
  const workspaceDir = await mkdtemp(join(tmpdir(), "foreman-docker-fault-ws-"));
  const artifactsDir = await mkdtemp(join(tmpdir(), "foreman-docker-fault-artifacts-"));
  const env = buildFaultEnv(github, {
    DOCKER_HOST: daemon.host,
    AGENT_IMAGE_ALLOWLIST: "foreman-test/*",
    REPO_PROFILE_OVERRIDES: "image,command",
    WORKSPACE_DIR: workspaceDir,
    ARTIFACTS_DIR: artifactsDir,
    PUBLIC_URL: "https://foreman.example.test",
  });
  const foreman = await startFaultForeman(database, env, { agents: true });
  try {
    const run = await runAgentLoop(foreman, during);
    const workspaces = (await readdir(workspaceDir)).sort();
    // A failed attempt's workspace is kept KEEP_FAILED_WORKSPACE_MINUTES (60) for a look, then swept.
    await sweepWorkspaces(workspaceDir, new Date(Date.now() + 61 * 60_000), { liveJobIds: new Set() });
    return { ...run, workspaces, workspacesAfterExpiry: await readdir(workspaceDir) };
  } finally {
    await foreman.stop();
    await rm(workspaceDir, { recursive: true, force: true });
    await rm(artifactsDir, { recursive: true, force: true });
  }
}

test("no restart (the baseline): every task's coder pushes once", { timeout: 180_000 }, async ({ task }) => {
  const baseline = await runOnPrivateDaemon();
  clean = baseline;
  task.meta.faultRow = buildFaultRow("none (agent jobs on a private dockerd)", baseline, baseline, 0);
  expect(baseline.lost).toBe(0);
  expect(baseline.retryReasons).toEqual([]);
  expect(baseline.workspaces).toEqual([]);
  expect([...baseline.pushesPerBranch.values()]).toEqual(Array.from({ length: TASKS }, () => 1));
});

test.for([["SIGTERM"], ["SIGKILL"]] as const)(
  "Docker daemon restarted (%s) while every agent runs: an infrastructure failure, retried once the daemon is back; one push per task, nothing left behind",
  { timeout: 300_000 },
  async ([signal], { task }) => {
    const run = await runOnPrivateDaemon(async () => {
      await waitForRunningAgents(TASKS);
      await daemon.kill(signal);
      await daemon.restart();
    });
    task.meta.faultRow = buildFaultRow(`Docker daemon restarted mid-job (${signal})`, run, clean, 1);

    // 1. Each job's attempt ended as Foreman's trouble with Docker, not the agent's, and was tried again.
    expect(run.retryReasons).toHaveLength(TASKS);
    for (const reason of run.retryReasons) expect(reason).toMatch(/Docker/);
    expect(await database.sql`select status, attempt from agent_jobs order by created_at`).toEqual(
      Array.from({ length: TASKS }, () => ({ status: "succeeded", attempt: 2 })),
    );
    // 2. Every task moved on once Docker was back: its commit pushed once, nothing on GitHub twice.
    expect(run.lost).toBe(0);
    expect(run.duplicates).toBe(0);
    expect([...run.pushesPerBranch.values()]).toEqual(Array.from({ length: TASKS }, () => 1));
    expect(github.unrouted).toEqual([]);
    // 3. Nothing left behind: no container in any state on the daemon, no workspace on the host.
    // A first attempt's workspace is kept for a look and swept once it expires; the retry's is gone.
    expect(await listJobContainers()).toEqual([]);
    expect(run.workspaces.every((name) => name.endsWith("-1"))).toBe(true);
    expect(run.workspacesAfterExpiry).toEqual([]);
    if (hadBridge) expect(hasHostInterface("docker0")).toBe(true);
  },
);
