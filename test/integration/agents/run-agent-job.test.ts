import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentJobOutcome } from "../../../src/agents/job-outcome.js";
import { runAgentJob, type AgentJobRequest } from "../../../src/agents/run-agent-job.js";
import type { JobHandle } from "../../../src/agents/runner.js";
import { testRunner as runner } from "./docker-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { AGENT_SECRET, createTempDir, FAKE_GITHUB_TOKEN, scriptJob, testProfileSources } from "./sandbox-fixtures.js";

const now = (): Date => new Date();

describe("runAgentJob on a real Docker engine", () => {
  let temp: Awaited<ReturnType<typeof createTempDir>>;
  let tarball: Buffer;

  beforeAll(async () => {
    temp = await createTempDir("foreman-job-");
    tarball = await buildRepoTarball({
      "README.md": "# Widgets\n",
      "old.txt": "obsolete\n",
      "tool.sh": "echo tool\n",
      "src/keep.ts": "export {};\n",
    });
  });

  afterAll(async () => {
    await temp.cleanup();
  });

  function run(
    script: string,
    overrides: Partial<AgentJobRequest> = {},
    onStarted?: (handle: JobHandle) => void,
  ): Promise<AgentJobOutcome> {
    return runAgentJob(scriptJob(temp.dir, script, overrides), {
      runner,
      fetchTarball: async () => tarball,
      now,
      ...(onStarted ? { onStarted } : {}),
    });
  }

  function succeeded(outcome: AgentJobOutcome) {
    if (outcome.kind !== "succeeded")
      throw new Error(`expected success, got ${outcome.code}: ${outcome.message}\n${outcome.logTail}`);
    return outcome;
  }

  const writeResult = (summaryExpr: string): string =>
    `printf '{"status":"success","summary":"%s"}' "${summaryExpr}" > /foreman/out/result.json`;

  it("collects exactly the files a script agent edits, adds and deletes", async () => {
    const outcome = succeeded(
      await run(
        [
          "set -e",
          "echo patched >> README.md",
          "mkdir -p src/util && printf 'export const y = 2;\\n' > src/util/y.ts",
          "rm old.txt",
          "chmod +x tool.sh",
          writeResult("$(cat /foreman/prompt.md)"),
        ].join("\n"),
      ),
    );
    expect(outcome.result).toEqual({ status: "success", summary: "Fix the widget." });
    expect(outcome.changes).toEqual([
      {
        path: "README.md",
        status: "modified",
        mode: "100644",
        previousMode: "100644",
        content: Buffer.from("# Widgets\npatched\n"),
        binary: false,
        addedLines: 1,
        deletedLines: 0,
        addedText: [{ lineNumber: 2, text: "patched" }],
      },
      {
        path: "old.txt",
        status: "deleted",
        mode: "100644",
        binary: false,
        addedLines: 0,
        deletedLines: 1,
        addedText: [],
      },
      {
        path: "src/util/y.ts",
        status: "added",
        mode: "100644",
        content: Buffer.from("export const y = 2;\n"),
        binary: false,
        addedLines: 1,
        deletedLines: 0,
        addedText: [{ lineNumber: 1, text: "export const y = 2;" }],
      },
      {
        path: "tool.sh",
        status: "modified",
        mode: "100755",
        // Made executable: the push takes the Git Data path, which can set the mode.
        previousMode: "100644",
        content: Buffer.from("echo tool\n"),
        binary: false,
        addedLines: 0,
        deletedLines: 0,
        addedText: [],
      },
    ]);
    expect(outcome.run).toMatchObject({ image: "foreman-test/busybox:latest", profile: "script", exitCode: 0 });
  });

  it("gives the container no network but loopback", async () => {
    const outcome = succeeded(await run(writeResult("$(ls /sys/class/net | tr '\\n' ' ')")));
    expect(outcome.result.summary).toBe("lo ");
  });

  it("puts the GitHub token from the host env nowhere in the container: env, files or mounts", async () => {
    const script = [
      // Built from halves so the search pattern never appears whole in a file or the environment.
      'token="FAKEinstallation""TOKENvalue0123"; secret="sk-agent-secret""-value-42"',
      'found=""',
      'env | grep -q "$token" && found="$found env"',
      'grep -rqs "$token" /foreman /workspace /tmp /proc/1/environ /proc/self/environ /proc/self/mountinfo && found="$found files"',
      'env | grep -q "ghs_" && found="$found ghs-prefix"',
      // Positive control: the same search does find the secret the profile forwards.
      'env | grep -q "$secret" && found="$found control"',
      writeResult("found:$found"),
    ].join("\n");
    const outcome = succeeded(await run(script));
    expect(outcome.result.summary).toBe("found: control");
    expect(JSON.stringify(outcome)).not.toContain(FAKE_GITHUB_TOKEN);
  });

  it("runs as the numeric sandbox user on a read-only root with a writable /tmp and workspace", async () => {
    const script = [
      'r="uid=$(id -u):$(id -g)"',
      'r="$r;etc=$(touch /etc/x 2>&1 || true)"',
      'r="$r;tmp=$(touch /tmp/x && echo ok)"',
      'r="$r;workspace=$(touch /workspace/.probe && rm /workspace/.probe && echo ok)"',
      'r="$r;prompt=$(touch /foreman/prompt.md 2>&1 || true)"',
      writeResult("$r"),
    ].join("\n");
    const outcome = succeeded(await run(script));
    expect(outcome.result.summary).toBe(
      "uid=65534:65534;etc=touch: /etc/x: Read-only file system;tmp=ok;workspace=ok;prompt=touch: /foreman/prompt.md: Read-only file system",
    );
  });

  it("fails with RESULT_MISSING when the agent writes no result.json", async () => {
    expect(await run("echo working")).toMatchObject({
      kind: "failed",
      code: "RESULT_MISSING",
      message: "The agent exited without writing /foreman/out/result.json.",
      logTail: "working",
    });
  });

  it("fails with RESULT_INVALID on malformed JSON", async () => {
    const outcome = await run(`printf '{"status": "success",' > /foreman/out/result.json`);
    expect(outcome).toMatchObject({ kind: "failed", code: "RESULT_INVALID" });
    expect(outcome.kind === "failed" && outcome.message).toMatch(/^\/foreman\/out\/result\.json is not valid JSON: /);
  });

  it("fails with AGENT_EXIT_NONZERO and the end of the log", async () => {
    expect(await run("echo step one; echo boom >&2; exit 3")).toMatchObject({
      kind: "failed",
      code: "AGENT_EXIT_NONZERO",
      message: "The agent exited with code 3. The end of its log is below.",
      run: { exitCode: 3 },
    });
  });

  it("fails with AGENT_OOM when the agent exceeds its memory", async () => {
    const outcome = await run("head -c 200m /dev/zero | tail", {
      profileSources: testProfileSources({ memoryMb: 64 }),
    });
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "AGENT_OOM",
      message: 'The agent ran out of memory (64 MB) and was killed. Raise `memoryMb` of profile "script".',
      run: { exitCode: 137 },
    });
  });

  it("redacts tokens and forwarded secrets the agent prints, in the JSONL log and the result", async () => {
    const outcome = succeeded(
      await run(
        ['echo "token ghs_PrintedByTheAgent99 key $AGENT_API_KEY"', writeResult("used $AGENT_API_KEY")].join("\n"),
      ),
    );
    expect(outcome.log.entries.map(({ stream, line }) => ({ stream, line }))).toEqual([
      { stream: "stdout", line: "token ghs_[REDACTED] key [REDACTED]" },
    ]);
    expect(outcome.log.jsonl).not.toContain("PrintedByTheAgent99");
    expect(outcome.log.jsonl).not.toContain(AGENT_SECRET);
    expect(outcome.result.summary).toBe("used [REDACTED]");
  });

  it("rejects a diff that touches a protected path, and pushes nothing", async () => {
    const outcome = await run(
      ["mkdir -p .github/workflows", "echo 'on: push' > .github/workflows/x.yml", writeResult("added a workflow")].join(
        "\n",
      ),
    );
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "GUARDRAIL_REJECTED",
      message:
        "The agent's changes were not pushed because they break a guardrail:\n" +
        "- `.github/workflows/x.yml` is a protected path (.github/workflows/**); agents may not create it. A human must make this change.",
      result: { status: "success", summary: "added a workflow" },
    });
  });

  it("rejects symlinks that lead out of the repository only through each other", async () => {
    const outcome = await run(["mkdir a", "ln -s .. a/s1", "ln -s s1/.. a/s2", writeResult("linked")].join("\n"));
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "GUARDRAIL_REJECTED",
      violations: [{ rule: "symlink_escape", path: "a/s2" }],
    });
  });

  it("a job whose changes are discarded (a review role) is not judged by the guardrails; its changes are still listed", async () => {
    const outcome = succeeded(
      await run(
        ["mkdir -p .github/workflows", "echo 'on: push' > .github/workflows/x.yml", writeResult("reviewed")].join("\n"),
        { discardChanges: true },
      ),
    );
    expect(outcome.changes.map((change) => change.path)).toEqual([".github/workflows/x.yml"]);
  });

  it("stops the container when the caller aborts, and reports AGENT_STOPPED, its workspace removed", async () => {
    const controller = new AbortController();
    const job = scriptJob(temp.dir, "echo changed >> README.md; sleep 300");
    const outcome = await runAgentJob(job, {
      runner,
      fetchTarball: async () => tarball,
      now,
      signal: controller.signal,
      onStarted: () => controller.abort(),
    });
    expect(outcome).toMatchObject({
      kind: "failed",
      code: "AGENT_STOPPED",
      message: "The job was stopped while the agent was running.",
    });
    // The host's reads of the stopped agent's files end before its directory is removed, not after.
    expect(await readdir(temp.dir)).not.toContain(job.jobId);
  });

  it("leaves no container and no workspace behind", async () => {
    let containerId = "";
    succeeded(await run(writeResult("done"), {}, (handle) => (containerId = handle.containerId)));
    expect(containerId).not.toBe("");
    expect(
      (await runner.listOrphans(new Set(), { replica: "test-replica" })).map((orphan) => orphan.containerId),
    ).not.toContain(containerId);
    expect(await readdir(temp.dir)).toEqual([]);
  });
});
