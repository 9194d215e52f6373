import type { KeyObject } from "node:crypto";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import type { ArtifactStore } from "../compliance/artifacts.js";
import { checkCoverage, type CoverageReport } from "../compliance/check-coverage.js";
import { verifyDatabase, type DatabaseVerification } from "../compliance/verify-database.js";
import { verifyTask, type TaskVerification } from "../compliance/verify-task.js";
import type { SqlClient } from "../db/client.js";
import { findTaskDocument } from "../db/queries/find-task-document.js";
import { saveVerifyResult } from "../db/queries/save-verify-result.js";

/** How to call `foreman verify`. */
export const VERIFY_USAGE = `Usage: foreman verify [--task <task id>] [--coverage] [--json] [--page-size <n>] [--progress]

  (no option)     verify the whole trail: every record's hash and link, every referenced artifact,
                  every checkpoint's signature and the record it names
  --task <id>     verify one task's records and artifacts against the chain
  --coverage      check that every merged task has the records a merge needs
  --json          print the result as JSON
  --progress      report how many records are verified so far on stderr (the default when stderr is a terminal)
Exit codes: 0 verified, 1 a problem was found (the first bad record is named), 2 usage error.`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What `foreman verify` checks with. */
export interface VerifyCommandDeps {
  sql: SqlClient;
  artifacts: ArtifactStore | null;
  publicKeys: ReadonlyMap<string, KeyObject> | null;
  out: (text: string) => void;
  /** Who ran it (`cli:<OS user>`), stored with the outcome of a whole-trail check. */
  by?: string;
  /** Where progress goes (stderr), and whether it is shown without --progress (stderr is a terminal). */
  progress?: { write: (text: string) => void; done?: () => void; byDefault: boolean };
}

/** `foreman verify`: check the trail and return the exit code (0 good, 1 a bad record, 2 usage). */
export async function runVerifyCommand(args: readonly string[], deps: VerifyCommandDeps): Promise<number> {
  let values: { task?: string; coverage?: boolean; json?: boolean; "page-size"?: string; progress?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        task: { type: "string" },
        coverage: { type: "boolean" },
        json: { type: "boolean" },
        "page-size": { type: "string" },
        progress: { type: "boolean" },
      },
      strict: true,
    }));
  } catch (error) {
    deps.out(`${(error as Error).message}\n\n${VERIFY_USAGE}`);
    return 2;
  }
  const pageSize = Number(values["page-size"] ?? 1000);
  if (!Number.isInteger(pageSize) || pageSize < 1) return usage(deps, "--page-size must be a positive whole number");
  if (values.task !== undefined && values.coverage)
    return usage(deps, "--task and --coverage are separate checks; run them one at a time");
  const print = (human: string, json: unknown) => deps.out(values.json ? JSON.stringify(json, null, 2) : human);

  if (values.coverage) {
    const report = await checkCoverage(deps.sql);
    print(describeCoverage(report), report);
    return report.percent < 100 ? 1 : 0;
  }
  if (values.task !== undefined) {
    if (!UUID.test(values.task)) return usage(deps, `--task needs a task id (a UUID), not "${values.task}"`);
    const taskId = values.task.toLowerCase();
    const { chain, artifactStatus: _statuses, ...result } = await verifyTask(deps.sql, taskId, deps.artifacts);
    if (chain.length === 0 && !(await findTaskDocument(deps.sql, taskId)))
      return usage(deps, `there is no task ${taskId} and no record for it`);
    print(describeTask(result), result);
    return result.ok ? 0 : 1;
  }
  const progress = deps.progress && (values.progress || deps.progress.byDefault) ? deps.progress.write : null;
  const result = await verifyDatabase(deps.sql, {
    artifacts: deps.artifacts,
    publicKeys: deps.publicKeys,
    pageSize,
    ...(progress
      ? {
          onProgress: ({ verified, total }: { verified: number; total: number }) =>
            progress(
              `verified ${verified} of ${total} records${total > 0 ? ` (${Math.floor((verified * 100) / total)}%)` : ""}`,
            ),
        }
      : {}),
  });
  if (progress) deps.progress?.done?.();
  // For /metrics (foreman_compliance_verify_ok and _age_seconds). A read-only role cannot store it;
  // the check itself stays read-only and its answer stands.
  await saveVerifyResult(deps.sql, { ok: result.ok, records: result.records }, deps.by ?? describeRunner()).catch(
    () => undefined,
  );
  print(describeTrail(result), result);
  return result.ok ? 0 : 1;
}

function describeRunner(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return "cli";
  }
}

function usage(deps: VerifyCommandDeps, message: string): 2 {
  deps.out(`${message}\n\n${VERIFY_USAGE}`);
  return 2;
}

/** The human-readable report of a whole-trail check. */
export function describeTrail(result: DatabaseVerification): string {
  const lines: string[] = [];
  if (result.failure) {
    lines.push(
      `Compliance trail: BROKEN at record ${result.failure.seq}`,
      `  record ${result.failure.seq}: ${result.failure.problem}`,
    );
    lines.push(`  ${result.records} record(s) before it verified.`);
  } else {
    lines.push("Compliance trail: OK");
    lines.push(
      result.head
        ? `  records      ${result.records} (seq 1-${result.head.seq}), head ${result.head.hash}`
        : "  records      none yet",
    );
  }
  lines.push(`  artifacts    ${result.artifacts.storeChecked ? `${result.artifacts.checked} checked` : "not checked"}`);
  const signatures = result.checkpoints.signaturesChecked ? "signatures checked" : "signatures NOT checked";
  lines.push(
    `  checkpoints  ${result.checkpoints.total} (${result.checkpoints.matched} matched the chain; ${signatures}; latest at seq ${result.checkpoints.latestSeq ?? "-"})`,
  );
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  return lines.join("\n");
}

/** The human-readable report of one task's check. */
export function describeTask(result: TaskVerification): string {
  const artifacts = result.artifacts.storeChecked
    ? `${result.artifacts.checked} artifact(s) checked`
    : "artifacts not checked";
  if (result.failure)
    return `Task ${result.taskId}: BROKEN at record ${result.failure.seq}\n  record ${result.failure.seq}: ${result.failure.problem}`;
  return `Task ${result.taskId}: OK (${result.records} record(s), ${artifacts})`;
}

/** The human-readable report of the coverage check. */
export function describeCoverage(report: CoverageReport): string {
  const lines = [`Evidence coverage of merged tasks: ${report.percent}% (${report.covered} of ${report.merged})`];
  for (const gap of report.gaps)
    lines.push(`  ${gap.repository}#${gap.issueNumber} (task ${gap.taskId}): missing ${gap.missing.join(", ")}`);
  if (report.merged - report.covered > report.gaps.length)
    lines.push(`  … and ${report.merged - report.covered - report.gaps.length} more`);
  return lines.join("\n");
}
