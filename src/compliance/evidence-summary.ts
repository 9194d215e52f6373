import type { ChainRecord } from "../chain/chain.js";
import type { TaskVerification } from "./verify-task.js";

/**
 * A task's evidence in a few fields, mapped to SOC 2 CC8.1 (changes are authorised, tested, approved
 * and implemented as designed). Sent by the change-management hook and included in every bundle.
 */
export interface EvidenceSummary {
  taskId: string;
  repository: string | null;
  issueNumber: number | null;
  issueTitle: string | null;
  state: string | null;
  reason: unknown;
  /** Who started the work, with what label, and their repository role when it was checked. */
  authorised: { by: string | null; role: string | null; label: string | null };
  /** CI on the task's final head: each suite seen on it, and Foreman's verdict; null before any CI reported. */
  tested: {
    headSha: string | null;
    verdict: string | null;
    suites: Array<{ app: string; suiteId: number; conclusion: string }>;
  } | null;
  /** Who merged the pull request and who approved it (each reviewer's latest verdict), and the merge commit; null unless merged. */
  approved: {
    by: string;
    at: string;
    approvals: Array<{ login: string; commitId: string | null }>;
    mergeCommitSha: string | null;
  } | null;
  /** What changed: the branch, the pull request and the commit SHAs the records name. */
  implemented: {
    branch: string | null;
    baseSha: string | null;
    headSha: string | null;
    prNumber: number | null;
    prUrl: string | null;
    commits: string[];
  };
  /** Where the evidence is and whether it verified. */
  evidence: {
    records: number;
    firstSeq: number | null;
    lastSeq: number | null;
    lastHash: string | null;
    artifacts: number;
    verified: boolean;
    problem: string | null;
    api: string;
  };
}

// Payload fields whose values are commit SHAs (effect evidence: the plan commit, agent pushes, the merge).
const COMMIT_FIELDS = ["baseSha", "headSha", "commitSha", "pushedSha", "mergeCommitSha"] as const;
const COMMIT_SHA = /^[0-9a-f]{40}$/;

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

function integer(value: unknown): number | null {
  return typeof value === "number" ? value : null;
}

function payloadOf(record: ChainRecord): Record<string, unknown> {
  return record.payload !== null && typeof record.payload === "object"
    ? (record.payload as Record<string, unknown>)
    : {};
}

/** Summarise a task's evidence from its row (JSON, column names), its records and their verification. Pure. */
export function summarizeEvidence(
  task: Record<string, unknown>,
  records: readonly ChainRecord[],
  verification: TaskVerification,
  artifactCount: number,
): EvidenceSummary {
  const taskId = text(task.id) ?? verification.taskId;
  const authorisation = records.find((record) => record.kind === "effect.authorize_trigger");
  const merge = records.find((record) => record.kind === "task.transition" && payloadOf(record).to === "merged");
  const mergeRecord = records.find((record) => record.kind === "effect.record_merge");
  const finalHead = text(task.head_sha);
  const suites = records
    .filter(
      (record) => record.kind === "ci.suite_completed" && finalHead !== null && payloadOf(record).headSha === finalHead,
    )
    .map((record) => ({
      app: String(payloadOf(record).app),
      suiteId: Number(payloadOf(record).suiteId),
      conclusion: String(payloadOf(record).conclusion),
    }));
  const verdict = records
    .filter((record) => record.kind === "effect.collect_ci_result" && payloadOf(record).sha === finalHead)
    .at(-1);
  const commits = new Set<string>();
  for (const record of records) {
    const payload = payloadOf(record);
    for (const field of COMMIT_FIELDS) {
      const value = payload[field];
      if (typeof value === "string" && COMMIT_SHA.test(value)) commits.add(value);
    }
  }
  const last = records.at(-1);
  return {
    taskId,
    repository: task.repo_owner && task.repo_name ? `${String(task.repo_owner)}/${String(task.repo_name)}` : null,
    issueNumber: integer(task.issue_number),
    issueTitle: text(task.issue_title),
    state: text(task.state),
    reason: task.reason ?? null,
    authorised: {
      by: text(task.triggered_by),
      role: authorisation ? text(payloadOf(authorisation).role) : null,
      label: text(task.trigger_label),
    },
    tested:
      suites.length === 0 && !verdict
        ? null
        : { headSha: finalHead, verdict: verdict ? text(payloadOf(verdict).verdict) : null, suites },
    approved: merge
      ? {
          by: merge.actor,
          at: merge.createdAt,
          approvals: (
            ((mergeRecord ? payloadOf(mergeRecord).approvals : []) as
              Array<{ login: string; commitId: string | null }> | undefined) ?? []
          ).map((approval) => ({ login: approval.login, commitId: approval.commitId ?? null })),
          mergeCommitSha: mergeRecord ? text(payloadOf(mergeRecord).mergeCommitSha) : null,
        }
      : null,
    implemented: {
      branch: text(task.branch),
      baseSha: text(task.base_sha),
      headSha: text(task.head_sha),
      prNumber: integer(task.pr_number),
      prUrl: text(task.pr_url),
      commits: [...commits],
    },
    evidence: {
      records: records.length,
      firstSeq: records[0]?.seq ?? null,
      lastSeq: last?.seq ?? null,
      lastHash: last?.hash ?? null,
      artifacts: artifactCount,
      verified: verification.ok,
      problem: verification.failure ? `record ${verification.failure.seq}: ${verification.failure.problem}` : null,
      api: `/api/compliance/tasks/${taskId}`,
    },
  };
}
