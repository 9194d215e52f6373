import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { forwardDockerSocket, NODE_USER, runAsHostUser, type ForwardedDockerSocket } from "./as-host-user.js";
import "./docker-available.js";
import type { NonRootJobInput, NonRootJobReport } from "./non-root-host-job.js";

const SCRIPT = "test/integration/agents/non-root-host-job.ts";

// Foreman's image runs as `node` (1000:1000), the agent as 65534: the host cannot read a 0600 file
// of the agent's, nor remove what is in a directory the agent made, unless the agent's files are handed back.
describe("the Docker runner on a host that is not root", () => {
  let socket: ForwardedDockerSocket;
  let baseDir: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0)
      throw new Error("This test starts the job as uid 1000 and must itself run as root (as CI does).");
    socket = await forwardDockerSocket(NODE_USER);
  });

  afterAll(async () => {
    await socket.close();
  });

  async function runAsNode(handBack: NonRootJobInput["handBack"]): Promise<NonRootJobReport> {
    baseDir = await mkdtemp(join(tmpdir(), "foreman-non-root-"));
    await chown(baseDir, NODE_USER.uid, NODE_USER.gid);
    try {
      return await runAsHostUser<NonRootJobReport>(SCRIPT, { baseDir, handBack } satisfies NonRootJobInput, {
        env: { DOCKER_HOST: socket.dockerHost },
      });
    } finally {
      await rm(baseDir, { recursive: true, force: true });
    }
  }

  it("reads and pushes the agent's 0600 files and nested directories, and removes the job directory", async () => {
    const report = await runAsNode("runs");
    expect(report.uid).toBe(NODE_USER.uid);
    expect({ kind: report.kind, code: report.code, message: report.message }).toEqual({
      kind: "succeeded",
      code: null,
      message: null,
    });
    expect(report.changes).toEqual([
      { path: "deep/er/est/file.txt", content: "nested\n" },
      { path: "private.txt", content: "private\n" },
    ]);
    expect(report.jobDir).toEqual({ mode: 0o700, uid: NODE_USER.uid });
    expect(report.leftInBaseDir).toEqual([]);
    expect(report.sweeps).toEqual([
      { removed: [], failed: [], foreign: [] },
      { removed: [], failed: [], foreign: [] },
    ]);
  });

  it("fails a file it still cannot read as the agent's guardrail, naming it, and keeps retrying the removal", async () => {
    const report = await runAsNode("fails");
    expect(report.kind).toBe("failed");
    expect(report.code).toBe("GUARDRAIL_REJECTED");
    expect(report.violations).toEqual([
      { rule: "unreadable_entry", path: "deep" },
      { rule: "unreadable_entry", path: "private.txt" },
      { rule: "unreadable_entry", path: "out/result.json" },
    ]);
    expect(report.message).toContain("`private.txt` (mode 0600, owner uid 65534, gid 65534)");
    expect(report.message).toContain("`deep` (mode 0700, owner uid 65534, gid 65534)");
    expect(report.message).toContain("the hand-back container could not start");
    // deep/ is the agent's and 0700: the host cannot empty it. The job file stays, so each sweep tries again.
    expect(report.leftInBaseDir).toEqual([report.jobId]);
    expect(report.sweeps).toEqual([
      { removed: [], failed: [report.jobId], foreign: [] },
      { removed: [], failed: [report.jobId], foreign: [] },
    ]);
  });
});
