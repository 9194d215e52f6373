/**
 * Run by non-root-host.test.ts as host uid 1000 (see as-host-user.ts): one script job on the real
 * Docker runner whose agent (uid 65534) writes with umask 077 — nested directories and 0600 files,
 * result.json included — then what the host made of it, printed as JSON.
 */
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { runAgentJob } from "../../../src/agents/run-agent-job.js";
import type { Runner } from "../../../src/agents/runner.js";
import { sweepWorkspaces } from "../../../src/agents/workspace.js";
import { testRunner } from "./docker-available.js";
import { buildRepoTarball } from "./repo-tarball.js";
import { scriptJob } from "./sandbox-fixtures.js";

/** What the test passes: the workspace base directory (owned by this user) and whether the hand-back may run. */
export interface NonRootJobInput {
  readonly baseDir: string;
  readonly handBack: "runs" | "fails";
}

/** What the test reads back. */
export interface NonRootJobReport {
  readonly uid: number;
  readonly kind: string;
  readonly code: string | null;
  readonly message: string | null;
  readonly changes: { path: string; content: string }[];
  readonly violations: { rule: string; path?: string }[];
  readonly leftInBaseDir: string[];
  readonly jobId: string;
  readonly sweeps: unknown[];
  /** The job directory's permission bits and owner while the agent ran. */
  readonly jobDir: { mode: number; uid: number } | null;
}

const AGENT_SCRIPT = [
  "set -e",
  // The agent (uid 65534) reads what the host user keeps in its 0700 job directory.
  "cat /foreman/prompt.md /foreman/context.json > /dev/null",
  "umask 077",
  "mkdir -p deep/er/est",
  "echo nested > deep/er/est/file.txt",
  "echo private > private.txt",
  "chmod 600 private.txt",
  `printf '{"status":"success","summary":"made private files"}' > /foreman/out/result.json`,
].join("\n");

const input = JSON.parse(process.argv[2] ?? "{}") as NonRootJobInput;
// An image without chmod, or a daemon that fails the hand-back's container: the runner's hand-back throws.
const runner: Runner =
  input.handBack === "runs"
    ? testRunner
    : (Object.create(testRunner, {
        handBack: { value: () => Promise.reject(new Error("the hand-back container could not start")) },
      }) as Runner);
const request = scriptJob(input.baseDir, AGENT_SCRIPT);
const tarball = await buildRepoTarball({ "README.md": "# Widgets\n" });
let jobDir: NonRootJobReport["jobDir"] = null;
const outcome = await runAgentJob(request, {
  runner,
  fetchTarball: async () => tarball,
  now: () => new Date(),
  onStarted: async () => {
    const stats = await stat(join(input.baseDir, request.jobId));
    jobDir = { mode: stats.mode & 0o777, uid: stats.uid };
  },
});
const leftInBaseDir = (await readdir(input.baseDir)).sort();
// Twice: a directory that could not be removed stays a Foreman job directory, tried again at every sweep.
const later = new Date(Date.now() + 60_000);
const sweeps = [await sweepWorkspaces(input.baseDir, later), await sweepWorkspaces(input.baseDir, later)];
const report: NonRootJobReport = {
  uid: process.getuid?.() ?? -1,
  kind: outcome.kind,
  code: outcome.kind === "failed" ? outcome.code : null,
  message: outcome.kind === "failed" ? outcome.message : null,
  changes:
    outcome.kind === "succeeded"
      ? outcome.changes.map((change) => ({ path: change.path, content: change.content?.toString("utf8") ?? "" }))
      : [],
  violations:
    outcome.kind === "failed"
      ? (outcome.violations ?? []).map((violation) => ({
          rule: violation.rule,
          ...(violation.path === undefined ? {} : { path: violation.path }),
        }))
      : [],
  leftInBaseDir,
  jobId: request.jobId,
  sweeps,
  jobDir,
};
process.stdout.write(JSON.stringify(report));
