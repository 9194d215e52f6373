import type { TaskState } from "../../workflow/states.js";
import type { Task, TaskConfig, TaskReason, TaskType } from "../../workflow/task.js";
import type { tasks } from "../schema.js";

/** A row of the tasks table as drizzle returns it. */
export type TaskRow = typeof tasks.$inferSelect;

/** Turn a stored row into the workflow's plain Task. */
export function toTask(row: TaskRow): Task {
  return {
    id: row.id,
    repo: { installationId: row.installationId, id: row.repoId, owner: row.repoOwner, name: row.repoName, defaultBranch: row.defaultBranch },
    issueNumber: row.issueNumber,
    issueTitle: row.issueTitle,
    type: row.type as TaskType,
    triggerLabel: row.triggerLabel,
    triggeredBy: row.triggeredBy,
    state: row.state as TaskState,
    resumeState: (row.resumeState as TaskState | null) ?? null,
    frozenBy: row.frozenBy,
    frozenOn: row.frozenOn as Task["frozenOn"],
    config: (row.config as TaskConfig | null) ?? null,
    branch: row.branch,
    baseSha: row.baseSha,
    headSha: row.headSha,
    prNumber: row.prNumber,
    prUrl: row.prUrl,
    reason: (row.reason as TaskReason | null) ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/** Turn a workflow Task into the columns that store it (bookkeeping columns are left alone). */
export function toTaskColumns(task: Task) {
  return {
    id: task.id,
    installationId: task.repo.installationId,
    repoId: task.repo.id,
    repoOwner: task.repo.owner,
    repoName: task.repo.name,
    defaultBranch: task.repo.defaultBranch,
    issueNumber: task.issueNumber,
    issueTitle: task.issueTitle,
    type: task.type,
    triggerLabel: task.triggerLabel,
    triggeredBy: task.triggeredBy,
    state: task.state,
    resumeState: task.resumeState,
    frozenBy: task.frozenBy,
    frozenOn: task.frozenOn,
    config: task.config,
    branch: task.branch,
    baseSha: task.baseSha,
    headSha: task.headSha,
    prNumber: task.prNumber,
    prUrl: task.prUrl,
    reason: task.reason,
    createdAt: new Date(task.createdAt),
    updatedAt: new Date(task.updatedAt),
  };
}
