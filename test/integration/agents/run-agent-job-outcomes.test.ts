import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunnerError } from "../../../src/agents/errors.js";
import { runAgentJob } from "../../../src/agents/run-agent-job.js";
import type { CapturedLogs, ContainerSpec, JobHandle, Runner, WaitOutcome } from "../../../src/agents/runner.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { createTempDir, scriptJob } from "./sandbox-fixtures.js";

// A runner that plays a scripted container: it "runs" by writing into the mounted out dir.
function fakeRunner(behaviour: {
  wait?: WaitOutcome;
  start?: () => never;
  lines?: CapturedLogs["lines"];
  act?: (outDir: string) => Promise<void>;
}) {
  const calls: string[] = [];
  let outDir = "";
  const runner: Runner = {
    async start(spec: ContainerSpec): Promise<JobHandle> {
      calls.push("start");
      behaviour.start?.();
      outDir = (spec.HostConfig?.Binds ?? []).find((bind) => bind.includes(":/foreman/out:"))?.split(":")[0] ?? "";
      return {
        containerId: "c1",
        taskId: spec.Labels?.["foreman.task"] ?? "",
        jobId: spec.Labels?.["foreman.job"] ?? "",
      };
    },
    async wait(_handle, options) {
      calls.push(`wait:${options.timeoutMs}`);
      await behaviour.act?.(outDir);
      return behaviour.wait ?? { exitCode: 0, oomKilled: false, timedOut: false };
    },
    async stop() {
      calls.push("stop");
    },
    async logs() {
      calls.push("logs");
      return { lines: behaviour.lines ?? [], omittedBytes: 0 };
    },
    async remove() {
      calls.push("remove");
    },
    async listOrphans() {
      return [];
    },
    async removeOrphans() {
      return [];
    },
  };
  return { runner, calls };
}

describe("runAgentJob outcomes", () => {
  let temp: Awaited<ReturnType<typeof createTempDir>>;
  let tarball: Buffer;
  const now = (): Date => new Date("2025-01-01T00:00:00Z");

  beforeAll(async () => {
    temp = await createTempDir("foreman-outcomes-");
    tarball = await buildRepoTarball({ "a.txt": "a\n" });
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  it("reports a configuration error before downloading anything or starting a container", async () => {
    const { runner, calls } = fakeRunner({});
    let fetched = false;
    const outcome = await runAgentJob(scriptJob(temp.dir, "true", { agentSecrets: {} }), {
      runner,
      now,
      fetchTarball: async () => ((fetched = true), tarball),
    });
    expect(outcome).toEqual({
      kind: "failed",
      code: "PROFILE_SECRET_MISSING",
      message:
        'Agent profile "script" needs AGENT_API_KEY, but it is not set on the Foreman server. An operator must set this variable in the agent secrets.',
      logTail: "",
      log: null,
      run: null,
    });
    expect([fetched, calls]).toEqual([false, []]);
  });

  it("writes a prompt rendered while the workspace was prepared before the container starts", async () => {
    let written: string[] = [];
    const { runner, calls } = fakeRunner({
      act: async (outDir) => {
        const jobDir = join(outDir, "..");
        written = [
          await readFile(join(jobDir, "prompt.md"), "utf8"),
          await readFile(join(jobDir, "context.json"), "utf8"),
        ];
        await writeFile(join(outDir, "result.json"), JSON.stringify({ status: "success", summary: "ok" }));
      },
    });
    const outcome = await runAgentJob(scriptJob(temp.dir, "true"), {
      runner,
      now,
      fetchTarball: async () => tarball,
      awaitPrompt: async () => ({ prompt: "Rendered meanwhile.", context: { taskId: "t" } }),
    });
    expect(outcome.kind).toBe("succeeded");
    expect(written).toEqual(["Rendered meanwhile.", '{\n  "taskId": "t"\n}\n']);
    expect(calls).toEqual(["start", "wait:900000", "logs", "remove"]);
  });

  it("starts no container when the prompt could not be made, and removes the prepared workspace", async () => {
    const { runner, calls } = fakeRunner({});
    const request = scriptJob(temp.dir, "true");
    const outcome = await runAgentJob(request, {
      runner,
      now,
      fetchTarball: async () => tarball,
      awaitPrompt: async () => null,
    });
    expect(outcome).toMatchObject({ kind: "failed", code: "AGENT_STOPPED" });
    expect(calls).toEqual([]);
    expect(await readdir(temp.dir)).not.toContain(request.jobId);
  });

  it("maps a wall-clock timeout to AGENT_TIMEOUT with the profile's limit", async () => {
    const { runner, calls } = fakeRunner({
      wait: { exitCode: 137, oomKilled: false, timedOut: true },
      lines: [{ t: null, stream: "stdout", line: "still thinking" }],
    });
    const outcome = await runAgentJob(scriptJob(temp.dir, "sleep 1000"), {
      runner,
      now,
      fetchTarball: async () => tarball,
    });
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "AGENT_TIMEOUT",
      message:
        'The agent did not finish within 900 seconds and was stopped. Raise `timeoutSeconds` of profile "script" or narrow the issue.',
      logTail: "still thinking",
    });
    expect(calls).toEqual(["start", "wait:900000", "logs", "remove"]);
  });

  it("maps engine failures to INFRA codes and still removes the workspace", async () => {
    const start = (): never => {
      throw new RunnerError(
        "INFRA_IMAGE_PULL_FAILED",
        'Image "x" is not on the Docker host and could not be pulled: 404.',
      );
    };
    const { runner } = fakeRunner({ start });
    const outcome = await runAgentJob(scriptJob(temp.dir, "true"), { runner, now, fetchTarball: async () => tarball });
    expect(outcome).toEqual({
      kind: "failed",
      code: "INFRA_IMAGE_PULL_FAILED",
      message: 'Image "x" is not on the Docker host and could not be pulled: 404.',
      logTail: "",
      log: null,
      run: null,
    });
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it("maps a broken tarball to INFRA_WORKSPACE", async () => {
    const { runner, calls } = fakeRunner({});
    const outcome = await runAgentJob(scriptJob(temp.dir, "true"), {
      runner,
      now,
      fetchTarball: async () => Buffer.from("not a tarball at all"),
    });
    expect(outcome).toMatchObject({ kind: "failed", code: "INFRA_WORKSPACE" });
    expect(calls).toEqual([]);
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it("uses the CLI's output file when the agent wrote no result.json", async () => {
    const { runner } = fakeRunner({
      act: (outDir) => writeFile(join(outDir, "claude-output.txt"), "Renamed the helper.\n"),
    });
    const request = scriptJob(temp.dir, "true", {
      profileSources: {
        builtIn: {},
        appProfiles: {
          bot: {
            image: "x",
            command: ["bot"],
            env: [],
            network: "none",
            timeoutSeconds: 60,
            memoryMb: 128,
            outputFile: "claude-output.txt",
          },
        },
        imageAllowlist: [],
      },
      profileName: "bot",
    });
    const outcome = await runAgentJob(request, { runner, now, fetchTarball: async () => tarball });
    expect(outcome).toMatchObject({
      kind: "succeeded",
      result: { status: "success", summary: "Renamed the helper." },
      changes: [],
    });
  });

  it("keeps a failed job's directory when asked, marked for the sweeper", async () => {
    const { runner } = fakeRunner({ wait: { exitCode: 1, oomKilled: false, timedOut: false } });
    const request = scriptJob(temp.dir, "false", { keepFailedWorkspaceMs: 3_600_000 });
    expect(await runAgentJob(request, { runner, now, fetchTarball: async () => tarball })).toMatchObject({
      kind: "failed",
      code: "AGENT_EXIT_NONZERO",
    });
    const meta = JSON.parse(await readFile(join(temp.dir, request.jobId, "foreman-job.json"), "utf8"));
    expect(meta).toEqual({
      jobId: request.jobId,
      createdAt: "2025-01-01T00:00:00.000Z",
      keepUntil: "2025-01-01T01:00:00.000Z",
    });
  });
});
