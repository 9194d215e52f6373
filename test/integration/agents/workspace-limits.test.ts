import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJobOutcome } from "../../../src/agents/job-outcome.js";
import { runAgentJob, type AgentJobRequest } from "../../../src/agents/run-agent-job.js";
import { testRunner as runner } from "./docker-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { createTempDir, scriptJob } from "./sandbox-fixtures.js";

const now = (): Date => new Date();
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
});
