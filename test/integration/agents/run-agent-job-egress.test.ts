import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EgressRecord } from "../../../src/agents/egress/egress-record.js";
import { RunnerError } from "../../../src/agents/errors.js";
import { runAgentJob } from "../../../src/agents/run-agent-job.js";
import type { ContainerSpec, EgressReport, EgressSession, JobHandle, Runner } from "../../../src/agents/runner.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { AGENT_SECRET, createTempDir, scriptJob, testProfileSources } from "./sandbox-fixtures.js";

const session: EgressSession = {
  jobId: "j",
  network: "foreman-egress-job-j",
  proxyUrl: "http://foreman-egress-proxy:3128",
  proxyAddress: "172.19.0.2",
  proxyContainerId: "proxy",
  dns: ["192.0.2.1"],
  rules: ["api.allowed.test:443"],
  openedAt: "2030-01-01T00:00:00.000Z",
};
const record = (at: string, host: string, verdict: "allowed" | "refused"): EgressRecord => ({
  at,
  method: "CONNECT",
  host,
  port: 443,
  verdict,
  reason: verdict === "allowed" ? "allowed" : "not-allowed",
  status: verdict === "allowed" ? 200 : 403,
  bytesUp: 10,
  bytesDown: 20,
  durationMs: 5,
  complete: true,
});

// A runner whose container "runs" by writing result.json, with an egress firewall that returns canned records.
function egressRunner(options: { start?: () => never; close?: () => Promise<EgressReport> } = {}) {
  const calls: string[] = [];
  let spec: ContainerSpec | undefined;
  const runner: Runner = {
    async openEgress(request) {
      calls.push(`openEgress:${request.rules.map((rule) => `${rule.host}:${rule.port}`).join(",")}`);
      return { ...session, jobId: request.jobId };
    },
    async start(given) {
      calls.push("start");
      spec = given;
      options.start?.();
      return { containerId: "c1", taskId: "t", jobId: "j" } satisfies JobHandle;
    },
    async wait() {
      calls.push("wait");
      const outDir = (spec?.HostConfig?.Binds ?? []).find((bind) => bind.includes(":/foreman/out:"))?.split(":")[0];
      await writeFile(join(outDir!, "result.json"), JSON.stringify({ status: "success", summary: "done" }));
      return { exitCode: 0, oomKilled: false, timedOut: false };
    },
    async stop() {},
    async logs() {
      calls.push("logs");
      return {
        lines: [
          { t: "2030-01-01T00:00:01.000Z", stream: "stdout", line: "calling the model" },
          { t: "2030-01-01T00:00:03.000Z", stream: "stdout", line: "done" },
        ],
        omittedBytes: 0,
      };
    },
    async remove() {
      calls.push("remove");
    },
    async closeEgress() {
      calls.push("closeEgress");
      return (
        options.close?.() ?? {
          records: [
            record("2030-01-01T00:00:02.000Z", "api.allowed.test", "allowed"),
            record("2030-01-01T00:00:02.500Z", `${AGENT_SECRET}.evil.example`, "refused"),
          ],
          notes: [],
        }
      );
    },
    async listOrphans() {
      return [];
    },
    async removeOrphans() {
      return [];
    },
  };
  return { runner, calls, spec: () => spec };
}

describe("runAgentJob with network: egress", () => {
  let temp: Awaited<ReturnType<typeof createTempDir>>;
  let tarball: Buffer;
  const now = (): Date => new Date("2030-01-01T00:00:05.000Z");
  const profileSources = {
    ...testProfileSources({ network: "egress", egress: ["api.allowed.test:443"] }),
    repoProfiles: { script: { egress: ["api.allowed.test:443", "pypi.org:443"] } },
  };

  beforeAll(async () => {
    temp = await createTempDir("foreman-egress-job-");
    tarball = await buildRepoTarball({ "a.txt": "a\n" });
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  it("opens the job's network first, closes it after the container is gone, and keeps every attempt", async () => {
    const { runner, calls, spec } = egressRunner();
    const outcome = await runAgentJob(scriptJob(temp.dir, "true", { profileSources }), {
      runner,
      now,
      fetchTarball: async () => tarball,
    });
    expect(outcome.kind).toBe("succeeded");
    expect(calls).toEqual(["openEgress:api.allowed.test:443", "start", "wait", "logs", "remove", "closeEgress"]);
    expect(spec()?.HostConfig).toMatchObject({ NetworkMode: "foreman-egress-job-j", Dns: ["192.0.2.1"] });
    expect(spec()?.Env).toContain("HTTPS_PROXY=http://foreman-egress-proxy:3128");
    // The records, with a secret the agent spelled into a host name redacted, and the repository's refused entry.
    expect(outcome.run?.egress).toMatchObject({
      network: "foreman-egress-job-j",
      allowed: ["api.allowed.test:443"],
      refusedByPolicy: [{ entry: "pypi.org:443" }],
      records: [{ host: "api.allowed.test" }, { host: "[REDACTED].evil.example", verdict: "refused" }],
      notes: [],
    });
    expect(outcome.log?.entries.map((entry) => `${entry.stream}: ${entry.line}`)).toEqual([
      "system: [foreman] egress: this job may reach api.allowed.test:443, through the proxy only",
      expect.stringMatching(/^system: \[foreman\] Egress to pypi\.org:443, asked for by `profiles\.script\.egress`/),
      "stdout: calling the model",
      "system: [foreman] egress allowed CONNECT api.allowed.test:443 (status 200, 10 B up, 20 B down, 5 ms)",
      "system: [foreman] egress refused CONNECT [REDACTED].evil.example:443 (not-allowed, status 403, 10 B up, 20 B down, 5 ms)",
      "stdout: done",
    ]);
  });

  it("closes the network when the container cannot start", async () => {
    const start = (): never => {
      throw new RunnerError("INFRA_CONTAINER_FAILED", "no");
    };
    const { runner, calls } = egressRunner({ start });
    const outcome = await runAgentJob(scriptJob(temp.dir, "true", { profileSources }), {
      runner,
      now,
      fetchTarball: async () => tarball,
    });
    expect(outcome).toMatchObject({ kind: "failed", code: "INFRA_CONTAINER_FAILED" });
    expect(calls).toEqual(["openEgress:api.allowed.test:443", "start", "closeEgress"]);
  });

  it("keeps the job's outcome when the records cannot be collected, and says so", async () => {
    const { runner } = egressRunner({ close: () => Promise.reject(new Error("daemon gone")) });
    const outcome = await runAgentJob(scriptJob(temp.dir, "true", { profileSources }), {
      runner,
      now,
      fetchTarball: async () => tarball,
    });
    expect(outcome.kind).toBe("succeeded");
    expect(outcome.run?.egress?.notes).toEqual([
      "The egress records could not be collected and the job network may be left behind: daemon gone",
    ]);
  });

  it("fails on a runner without an egress firewall, before any container starts", async () => {
    const { runner, calls } = egressRunner();
    const { openEgress: _open, closeEgress: _close, ...withoutEgress } = runner;
    const outcome = await runAgentJob(scriptJob(temp.dir, "true", { profileSources }), {
      runner: withoutEgress,
      now,
      fetchTarball: async () => tarball,
    });
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "INFRA_CONTAINER_FAILED",
      message: 'Agent profile "script" uses `network: egress`, but this runner has no egress firewall.',
    });
    expect(calls).toEqual([]);
  });
});
