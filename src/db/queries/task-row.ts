import type { TaskState } from "../../workflow/states.js";
import { toJsonText } from "../client.js";
import { sanitizeDeep } from "../sanitize-text.js";
import {
  emptyPipeline,
  type IssueSnapshot,
  type PipelineProgress,
  type Task,
  type TaskConfig,
  type TaskReason,
  type TaskType,
  type TriggerVerdict,
} from "../../workflow/task.js";

/** A row of the tasks table as postgres.js returns it (snake_case; bigint as text). */
export type TaskRow = Record<string, unknown> & { version: number; status_comment_id: string | number | null };

/** The task columns in insert order; the same list serves `select`. */
export const TASK_COLUMNS = [
  "id",
  "installation_id",
  "repo_id",
  "repo_owner",
  "repo_name",
  "default_branch",
  "issue_number",
  "issue_title",
  "issue_snapshot",
  "type",
  "trigger_label",
  "triggered_by",
  "trigger_verdict",
  "state",
  "resume_state",
  "frozen_by",
  "frozen_on",
  "config",
  "branch",
  "base_sha",
  "head_sha",
  "pr_number",
  "pr_url",
  "step",
  "current_job_id",
  "agent_ms_used",
  "agent_tokens_used",
  "agent_cost_usd",
  "priority",
  "pipeline",
  "reason",
  "created_at",
  "updated_at",
] as const;

const nullableNumber = (value: unknown) => (value === null || value === undefined ? null : Number(value));
// Duck-typed, not instanceof: a Date made by postgres.js may come from another module realm (vitest).
const iso = (value: unknown) =>
  typeof (value as Date | null)?.toISOString === "function"
    ? (value as Date).toISOString()
    : new Date(String(value)).toISOString();

/** Turn a stored row into the workflow's plain Task. */
export function toTask(row: Record<string, unknown>): Task {
  return {
    id: String(row.id),
    repo: {
      installationId: Number(row.installation_id),
      id: Number(row.repo_id),
      owner: String(row.repo_owner),
      name: String(row.repo_name),
      defaultBranch: String(row.default_branch),
    },
    issueNumber: Number(row.issue_number),
    issueTitle: String(row.issue_title),
    issueSnapshot: (row.issue_snapshot as IssueSnapshot | null) ?? null,
    type: row.type as TaskType,
    triggerLabel: String(row.trigger_label),
    triggeredBy: String(row.triggered_by),
    triggerVerdict: (row.trigger_verdict as TriggerVerdict | null) ?? "pending",
    state: row.state as TaskState,
    resumeState: (row.resume_state as TaskState | null) ?? null,
    frozenBy: (row.frozen_by as string | null) ?? null,
    frozenOn: (row.frozen_on as Task["frozenOn"]) ?? null,
    config: (row.config as TaskConfig | null) ?? null,
    branch: (row.branch as string | null) ?? null,
    baseSha: (row.base_sha as string | null) ?? null,
    headSha: (row.head_sha as string | null) ?? null,
    prNumber: nullableNumber(row.pr_number),
    prUrl: (row.pr_url as string | null) ?? null,
    step: (row.step as string | null) ?? null,
    jobId: (row.current_job_id as string | null) ?? null,
    usage: {
      agentMs: Number(row.agent_ms_used ?? 0),
      tokens: Number(row.agent_tokens_used ?? 0),
      costUsd: Number(row.agent_cost_usd ?? 0),
    },
    priority: Number(row.priority ?? 0),
    pipeline: { ...emptyPipeline(), ...((row.pipeline as PipelineProgress | null) ?? {}) },
    reason: (row.reason as TaskReason | null) ?? null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

/** Turn a workflow Task into the columns that store it (bookkeeping columns are left alone), sanitised for PostgreSQL. */
export function toTaskColumns(task: Task): Record<(typeof TASK_COLUMNS)[number], unknown> {
  return sanitizeDeep({
    id: task.id,
    installation_id: task.repo.installationId,
    repo_id: task.repo.id,
    repo_owner: task.repo.owner,
    repo_name: task.repo.name,
    default_branch: task.repo.defaultBranch,
    issue_number: task.issueNumber,
    issue_title: task.issueTitle,
    issue_snapshot: toJsonText(task.issueSnapshot),
    type: task.type,
    trigger_label: task.triggerLabel,
    triggered_by: task.triggeredBy,
    trigger_verdict: task.triggerVerdict,
    state: task.state,
    resume_state: task.resumeState,
    frozen_by: task.frozenBy,
    frozen_on: task.frozenOn,
    config: toJsonText(task.config),
    branch: task.branch,
    base_sha: task.baseSha,
    head_sha: task.headSha,
    pr_number: task.prNumber,
    pr_url: task.prUrl,
    step: task.step,
    current_job_id: task.jobId,
    agent_ms_used: task.usage.agentMs,
    agent_tokens_used: task.usage.tokens,
    agent_cost_usd: task.usage.costUsd,
    priority: task.priority,
    pipeline: toJsonText(task.pipeline),
    reason: toJsonText(task.reason),
    created_at: task.createdAt,
    updated_at: task.updatedAt,
  });
}

/** The status comment id stored on a row, as a number. */
export function findRowStatusCommentId(row: TaskRow): number | null {
  return nullableNumber(row.status_comment_id);
}

/** The `foreman` check run stored on a row and the SHA it is on. */
export function findRowCheckRun(row: TaskRow): { id: number; sha: string } | null {
  const id = nullableNumber(row.check_run_id);
  return id === null || typeof row.check_run_sha !== "string" ? null : { id, sha: row.check_run_sha };
}
