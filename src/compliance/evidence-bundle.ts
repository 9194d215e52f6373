import type { SqlClient } from "../db/client.js";
import { findArtifacts } from "../db/queries/find-artifacts.js";
import { findTaskDocument } from "../db/queries/find-task-document.js";
import { listTaskAgentJobs } from "../db/queries/list-task-agent-jobs.js";
import { listTaskCiResults } from "../db/queries/list-task-ci-results.js";
import { listArtifactRefs, type ArtifactStatus } from "./artifact-refs.js";
import type { ChainRecord } from "../chain/chain.js";
import { summarizeEvidence, type EvidenceSummary } from "./evidence-summary.js";
import { verifyTask, type TaskVerification } from "./verify-task.js";
import type { ArtifactStore } from "./artifacts.js";

/** The version of the bundle layout; bump it when a field changes meaning. */
export const BUNDLE_FORMAT = "foreman-evidence/1";

/** One artifact a task's records reference, with what the store says about it. */
export interface BundleArtifact {
  sha256: string;
  kind: string;
  /** From the `artifacts` table; null when the table has no row for it. */
  size: number | null;
  storedAt: string | null;
  /** `ok`: present and intact; `unchecked`: no artifact store was available to this process. */
  status: ArtifactStatus | "unchecked";
  /** Its path inside `bundle.tar.gz` (present only when `status` is `ok`). */
  file: string | null;
}

/** Everything Foreman holds about one task, for an auditor (docs/compliance.md, "Reading a bundle"). */
export interface EvidenceBundle {
  format: typeof BUNDLE_FORMAT;
  generatedAt: string;
  task: Record<string, unknown>;
  records: ChainRecord[];
  artifacts: BundleArtifact[];
  agentJobs: Array<Record<string, unknown>>;
  /** Every CI suite Foreman saw for the task (on any of its SHAs), with the failing checks it read. */
  ciResults: Array<Record<string, unknown>>;
  verification: TaskVerification;
  summary: EvidenceSummary;
}

/** Collect a task's evidence bundle; null when there is no such task and no record names it. */
export async function buildEvidenceBundle(
  sql: SqlClient,
  taskId: string,
  store: ArtifactStore | null,
  now: Date,
): Promise<EvidenceBundle | null> {
  const task = await findTaskDocument(sql, taskId);
  const checked = await verifyTask(sql, taskId, store);
  if (!task && checked.chain.length === 0) return null;
  const { chain, artifactStatus, ...verification } = checked;

  const refs = new Map<string, string>();
  for (const record of chain) {
    const found = listArtifactRefs(record.payload);
    if (found.ok) for (const ref of found.refs) if (!refs.has(ref.sha256)) refs.set(ref.sha256, ref.kind);
  }
  const rows = new Map((await findArtifacts(sql, [...refs.keys()])).map((row) => [row.sha256, row]));
  const artifacts = [...refs].map(([sha256, kind]): BundleArtifact => {
    const status = store ? (artifactStatus.get(sha256) ?? "missing") : "unchecked";
    const row = rows.get(sha256);
    return {
      sha256,
      kind,
      size: row?.size ?? null,
      storedAt: row?.createdAt ?? null,
      status,
      file: status === "ok" ? `artifacts/${sha256}` : null,
    };
  });
  const taskDocument = task ?? { id: taskId };
  return {
    format: BUNDLE_FORMAT,
    generatedAt: now.toISOString(),
    task: taskDocument,
    records: chain,
    artifacts,
    agentJobs: await listTaskAgentJobs(sql, taskId),
    ciResults: await listTaskCiResults(sql, taskId),
    verification,
    summary: summarizeEvidence(taskDocument, chain, verification, artifacts.length),
  };
}
