import type { ChainRecord } from "../../chain/chain.js";
import type { Task } from "../../workflow/task.js";

/** A task as `/api/tasks` lists it (the TaskSummary schema). */
export function toTaskSummary(task: Task): Record<string, unknown> {
  return {
    id: task.id,
    repository: `${task.repo.owner}/${task.repo.name}`,
    issueNumber: task.issueNumber,
    issueTitle: task.issueTitle,
    type: task.type,
    state: task.state,
    resumeState: task.resumeState,
    frozenBy: task.frozenBy,
    triggerLabel: task.triggerLabel,
    triggeredBy: task.triggeredBy,
    triggerVerdict: task.triggerVerdict,
    step: task.step,
    branch: task.branch,
    prNumber: task.prNumber,
    prUrl: task.prUrl,
    reason: task.reason,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
  };
}

const isoOrNull = (value: unknown) =>
  value === null || value === undefined ? null : new Date(String(value)).toISOString();

/** An agent job row (JSON, snake_case) as the Job schema, with the API path of its log. */
export function toJobView(taskId: string, job: Record<string, unknown>): Record<string, unknown> {
  return {
    id: String(job.id),
    role: String(job.role),
    profile: String(job.profile),
    status: String(job.status),
    attempt: Number(job.attempt),
    createdAt: isoOrNull(job.created_at),
    startedAt: isoOrNull(job.started_at),
    finishedAt: isoOrNull(job.finished_at),
    failureCode: (job.failure_code as string | null) ?? null,
    log: `/api/tasks/${taskId}/jobs/${String(job.id)}/log`,
  };
}

/** A CI result as the CiResult schema. */
export function toCiResultView(result: Record<string, unknown>): Record<string, unknown> {
  return { ...result, suiteId: Number(result.suiteId), receivedAt: isoOrNull(result.receivedAt) };
}

/** A compliance record as a timeline entry: when, what, who, and what it said. */
export function toTimelineEntry(record: ChainRecord): Record<string, unknown> {
  return {
    seq: record.seq,
    at: new Date(record.createdAt).toISOString(),
    kind: record.kind,
    actor: record.actor,
    payload: (record.payload ?? {}) as Record<string, unknown>,
  };
}
