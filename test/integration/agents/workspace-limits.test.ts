import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJobOutcome } from "../../../src/agents/job-outcome.js";
import { runAgentJob, type AgentJobRequest } from "../../../src/agents/run-agent-job.js";
import { testRunner as runner } from "./docker-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { createTempDir, scriptJob } from "./sandbox-fixtures.js";

const now = (): Date => new Date();
const MiB = 1024 * 1024;
const writeResult = `printf '{"status":"success","summary":"done"}' > /foreman/out/result.json`;

// What an agent can leave behind that the host must not pay for without limit.
describe("host-side limits of a job's workspace", () => {
  let temp: Awaited<ReturnType<typeof createTempDir>>;
  let tarball: Buffer;

  beforeAll(async () => {
    temp = await createTempDir("foreman-limits-");
    tarball = await buildRepoTarball({ "README.md": "# Widgets\n" });
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  function run(script: string, overrides: Partial<AgentJobRequest> = {}): Promise<AgentJobOutcome> {
    return runAgentJob(scriptJob(temp.dir, script, overrides), { runner, fetchTarball: async () => tarball, now });
  }

  it("stops git on a named pipe the agent planted as .gitignore and refuses the job as the agent's doing", async () => {
    const outcome = await run(["set -e", "echo more >> README.md", "mkfifo .gitignore", writeResult].join("\n"), {
      hostCommandTimeoutMs: 500,
    });
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "GUARDRAIL_REJECTED",
      message:
        "The agent's changes were not pushed: reading them from the workspace took too long (git add did not finish within 0.5 seconds and was stopped on the host). The agent left something git cannot read in time, such as a huge or sparse file or a named pipe. If the repository really needs longer, the operator can raise HOST_COMMAND_TIMEOUT_SECONDS.",
      result: { status: "success", summary: "done" },
    });
    // The failed job's directory is removed (no keepFailedWorkspaceMs): nothing is left to hang on.
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it("refuses a workspace the agent filled past WORKSPACE_MAX_MB, naming the size and the limit", async () => {
    const outcome = await run(
      ["set -e", "dd if=/dev/urandom of=big.bin bs=1048576 count=3 2>/dev/null", writeResult].join("\n"),
      { workspaceMaxBytes: 2 * MiB },
    );
    expect(outcome.kind === "failed" ? outcome.code : outcome.kind).toBe("GUARDRAIL_REJECTED");
    expect(outcome.kind === "failed" ? outcome.message : "").toMatch(
      /^The agent's changes were not pushed: after the agent ran, the workspace takes (at least )?\d+\.\d MB on disk, over the limit of 2\.0 MB \(WORKSPACE_MAX_MB\)\. The agent wrote more than a job may leave behind; if the task really needs more room, the operator can raise WORKSPACE_MAX_MB\.$/,
    );
    expect(await readdir(temp.dir)).toEqual([]);
  });

  it("counts a sparse file by what it really takes: the file size rule refuses it, not the quota", async () => {
    const outcome = await run(
      ["set -e", "truncate -s 64M sparse.bin", "echo more >> README.md", writeResult].join("\n"),
      {
        workspaceMaxBytes: 2 * MiB,
      },
    );
    // Within the quota; the 64 MiB file is refused only by the file size rule, which names it.
    expect(outcome).toMatchObject({ kind: "failed", code: "GUARDRAIL_REJECTED" });
    expect(outcome.kind === "failed" ? outcome.message : "").toContain("sparse.bin");
    expect(outcome.kind === "failed" ? outcome.message : "").not.toContain("WORKSPACE_MAX_MB");
  });

  it("refuses a repository that is over WORKSPACE_MAX_MB once unpacked as the operator's to fix, before any container", async () => {
    const big = await buildRepoTarball({ "data.bin": { content: randomBytes(3 * MiB) } });
    const outcome = await runAgentJob(scriptJob(temp.dir, writeResult, { workspaceMaxBytes: 2 * MiB }), {
      runner,
      fetchTarball: async () => big,
      now,
    });
    expect(outcome.kind === "failed" ? outcome.code : outcome.kind).toBe("INFRA_WORKSPACE");
    expect(outcome.kind === "failed" ? outcome.message : "").toMatch(
      /^The repository could not be prepared for the agent: it takes (at least )?\d+\.\d MB on disk, over the limit of 2\.0 MB \(WORKSPACE_MAX_MB\)\. This is for the operator: raise WORKSPACE_MAX_MB, or this repository is too large for agent jobs\.$/,
    );
    expect(outcome).toMatchObject({ log: null, run: null });
    expect(await readdir(temp.dir)).toEqual([]);
  });
});
