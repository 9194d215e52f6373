import { randomUUID } from "node:crypto";
import Docker from "dockerode";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { buildContainerSpec } from "../../../src/agents/job-spec.js";
import type { ResolvedProfile } from "../../../src/agents/profiles.js";
import type { JobHandle } from "../../../src/agents/runner.js";
import { prepareWorkspace, type PreparedWorkspace } from "../../../src/agents/workspace.js";
import { TEST_IMAGE, testRunner as runner } from "./docker-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { createTempDir } from "./sandbox-fixtures.js";

const profile: ResolvedProfile = {
  name: "script",
  image: TEST_IMAGE,
  command: [],
  env: [],
  network: "none",
  timeoutSeconds: 60,
  memoryMb: 128,
};

describe("DockerRunner on a real Docker engine", () => {
  const replica = `runner-test-${randomUUID()}`;
  const handles: JobHandle[] = [];
  let temp: Awaited<ReturnType<typeof createTempDir>>;
  let tarball: Buffer;

  beforeAll(async () => {
    temp = await createTempDir("foreman-runner-");
    tarball = await buildRepoTarball({ "README.md": "hi\n" });
  });

  afterEach(async () => {
    for (const handle of handles.splice(0)) await runner.remove(handle);
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  async function start(
    script: string,
    patch: Partial<ResolvedProfile> = {},
    jobId = `job-${randomUUID()}`,
  ): Promise<JobHandle> {
    const ws: PreparedWorkspace = await prepareWorkspace({
      baseDir: temp.dir,
      jobId,
      tarball,
      prompt: "p",
      context: {},
      sandboxUser: { uid: 65534, gid: 65534 },
      now: new Date(),
    });
    const spec = buildContainerSpec(
      { ...profile, ...patch },
      { taskId: "task-r", jobId, replica, paths: ws, hostEnv: {}, script },
    );
    if (!spec.ok) throw new Error(spec.error.message);
    const handle = await runner.start(spec.value);
    handles.push(handle);
    return handle;
  }

  it("demultiplexes stdout and stderr with engine timestamps", async () => {
    const handle = await start("echo to-out; echo to-err >&2; printf 'no newline'");
    expect(await runner.wait(handle, { timeoutMs: 30_000 })).toEqual({
      exitCode: 0,
      oomKilled: false,
      timedOut: false,
    });
    const logs = await runner.logs(handle);
    expect(logs.omittedBytes).toBe(0);
    // Docker copies the two streams independently: order within a stream is kept, across them it is not.
    const of = (stream: string): string[] =>
      logs.lines.filter((line) => line.stream === stream).map((line) => line.line);
    expect([of("stdout"), of("stderr"), logs.lines.length]).toEqual([["to-out", "no newline"], ["to-err"], 3]);
    for (const line of logs.lines) expect(line.t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
  });

  it("follows a running container's lines as they come, before it exits", async () => {
    // Released by a signal (the Engine's kill call), not by an exec: nothing is written to a stream.
    const handle = await start(
      "trap 'touch /tmp/go' USR1; echo first; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo second",
    );
    const seen: string[] = [];
    const following = runner.followLogs(handle, (line) => seen.push(`${line.stream}:${line.line}`));
    await expect.poll(() => seen, { timeout: 10_000 }).toEqual(["stdout:first"]);
    await new Docker().getContainer(handle.containerId).kill({ signal: "SIGUSR1" });
    expect((await runner.wait(handle, { timeoutMs: 30_000 })).exitCode).toBe(0);
    // The followed stream ends by itself once the container has exited.
    await following.done;
    expect(seen).toEqual(["stdout:first", "stdout:second"]);
  });

  it("caps captured output and marks the gap", async () => {
    const handle = await start("i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done");
    await runner.wait(handle, { timeoutMs: 30_000 });
    const logs = await runner.logs(handle, { maxBytes: 4096 });
    expect(logs.omittedBytes).toBeGreaterThan(0);
    expect(logs.lines[0]?.line).toBe("line-0");
    expect(logs.lines.at(-1)?.line).toBe("line-1999");
    expect(logs.lines.filter((line) => line.stream === "system").map((line) => line.line)).toEqual([
      `[foreman] ${logs.omittedBytes} bytes of output omitted (log capture limit 4096 bytes)`,
    ]);
  });

  it("kills a container that outlives its wall-clock timeout", async () => {
    const handle = await start("sleep 60");
    expect(await runner.wait(handle, { timeoutMs: 1000 })).toEqual({ exitCode: 137, oomKilled: false, timedOut: true });
  });

  it("reports an OOM kill", async () => {
    const handle = await start("head -c 200m /dev/zero | tail", { memoryMb: 64 });
    expect(await runner.wait(handle, { timeoutMs: 30_000 })).toEqual({
      exitCode: 137,
      oomKilled: true,
      timedOut: false,
    });
  });

  it("stops a running job with SIGTERM, without waiting out the grace period", async () => {
    const handle = await start("sleep 300");
    await waitUntilRunning(handle.containerId);
    await runner.stop(handle, { graceSeconds: 20 });
    // 143 = SIGTERM: the agent ended on the polite signal; 137 would mean the SIGKILL after the grace period.
    expect(await runner.wait(handle, { timeoutMs: 5000 })).toEqual({
      exitCode: 143,
      oomKilled: false,
      timedOut: false,
    });
    await runner.stop(handle, { graceSeconds: 1 });
  }, 60_000);

  it("kills a job that ignores SIGTERM once its grace period is over", async () => {
    const handle = await start("trap '' TERM; while true; do sleep 1; done");
    await waitUntilRunning(handle.containerId);
    await runner.stop(handle, { graceSeconds: 1 });
    expect(await runner.wait(handle, { timeoutMs: 5000 })).toEqual({
      exitCode: 137,
      oomKilled: false,
      timedOut: false,
    });
  }, 60_000);

  it("finds and removes orphans by label after a simulated crash", async () => {
    const jobId = `job-${randomUUID()}`;
    const live = await start("sleep 300");
    const orphan = await start("sleep 300", {}, jobId);
    handles.splice(handles.indexOf(orphan), 1); // the crash: this replica forgot the handle
    expect(await runner.listOrphans(new Set([live.jobId]), { replica })).toEqual([
      { containerId: orphan.containerId, taskId: "task-r", jobId, replica, state: "running" },
    ]);
    expect(await runner.removeOrphans(new Set([live.jobId]), { replica })).toMatchObject([
      { containerId: orphan.containerId },
    ]);
    expect(await runner.listOrphans(new Set([live.jobId]), { replica })).toEqual([]);
    expect((await runner.listOrphans(new Set(), { replica })).map((found) => found.containerId)).toEqual([
      live.containerId,
    ]);
  });

  it("treats stopping and removing a vanished container as done", async () => {
    const handle = await start("true");
    await runner.wait(handle, { timeoutMs: 30_000 });
    await runner.remove(handle);
    await expect(runner.stop(handle, { graceSeconds: 1 })).resolves.toBeUndefined();
    await expect(runner.remove(handle)).resolves.toBeUndefined();
  });
});

/** Wait until the container's process is up (a signal sent before that is lost). */
async function waitUntilRunning(containerId: string): Promise<void> {
  const { default: Docker } = await import("dockerode");
  const container = new Docker().getContainer(containerId);
  for (let tries = 0; tries < 50; tries += 1) {
    const info = await container.inspect();
    if (info.State.Running && info.State.Pid > 0) {
      // tini is PID 1 and starts the command right after; give it a moment to exist.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`container ${containerId} never started`);
}
