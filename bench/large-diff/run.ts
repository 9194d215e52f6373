/**
 * What a diff of huge one-line files costs Foreman after the agent exits: N files of 10 MiB,
 * each one line, written into a prepared workspace, then the diff collected (collectChanges),
 * checked (checkChanges, with the default guardrails) and, when it passes, rendered as the
 * `agent-diff` evidence text. Prints, for 24 and 30 files: the verdict, the seconds, the growth of
 * the process's RSS (peak) and the evidence bytes, next to the targets. A bigger diff than the
 * guardrails allow should be refused before its content is read: in a few seconds (git hashing
 * the files when it stages them), with
 * RSS growth of a few MiB and no evidence text.
 *
 *   npm run bench:large-diff          # = npx tsx bench/large-diff/run.ts [files…] (default 24 30)
 *
 * Asserts nothing. Needs git; writes N × 10 MiB under the system's temp directory.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { collectChanges } from "../../src/agents/collect-changes.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES } from "../../src/agents/guardrails.js";
import { prepareWorkspace } from "../../src/agents/workspace.js";
import { renderDiffEvidence } from "../../src/engine/agent-step/record-job-outcome.js";
import { buildRepoTarball } from "../../test/integration/agents/repo-tarball.js";

const MiB = 1024 * 1024;
const FILE_BYTES = 10 * MiB;
// Most of the seconds are git hashing the files (`git add`), which any diff costs.
const TARGETS = { seconds: 3, rssMiB: 64, evidenceBytes: 0 };

async function measure(fileCount: number): Promise<void> {
  const baseDir = await mkdtemp(join(tmpdir(), "foreman-large-diff-"));
  try {
    const workspace = await prepareWorkspace({
      baseDir,
      jobId: `large-${fileCount}`,
      tarball: await buildRepoTarball({ "README.md": "# Widgets\n" }),
      prompt: "Do the thing.",
      context: {},
      sandboxUser: { uid: 65534, gid: 65534 },
      excludes: [],
      now: new Date(),
    });
    const line = Buffer.alloc(FILE_BYTES, "x");
    line[FILE_BYTES - 1] = 10;
    for (let i = 0; i < fileCount; i += 1) await writeFile(join(workspace.workspaceDir, `blob-${i}.txt`), line);

    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const started = performance.now();
    let verdict: string;
    let evidenceBytes = 0;
    try {
      const collected = await collectChanges(workspace);
      const checked = checkChanges(collected.changes, DEFAULT_GUARDRAIL_RULES, collected);
      if (checked.ok) {
        evidenceBytes = Buffer.byteLength(renderDiffEvidence(collected.changes));
        verdict = "passed the guardrails";
      } else {
        verdict = `refused: ${checked.violations.map((violation) => violation.rule).join(", ")}`;
      }
    } catch (error) {
      verdict = `collect failed (an infrastructure error, the job re-runs): ${String(error).slice(0, 100)}`;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    console.log(`${fileCount} × 10 MiB one-line files: ${verdict}`);
    console.log(
      `  ${seconds.toFixed(2)} s (target < ${TARGETS.seconds} s), RSS +${((peak - before) / MiB).toFixed(0)} MiB (target < ${TARGETS.rssMiB} MiB), evidence ${evidenceBytes} bytes (target ${TARGETS.evidenceBytes})`,
    );
  } finally {
    await rm(baseDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const counts = process.argv.slice(2).map(Number);
  for (const count of counts.length > 0 ? counts : [24, 30]) await measure(count);
}

await main();
