import { createHash } from "node:crypto";
import type { Sql } from "postgres";
import type { SqlClient } from "../db/client.js";
import type { NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { findIdempotencyKey } from "../db/queries/find-idempotency-key.js";
import { findTask } from "../db/queries/find-task.js";
import { findTaskForUpdate } from "../db/queries/find-task-for-update.js";
import { insertTaskEvent } from "../db/queries/insert-task-event.js";
import { buildIssueLane } from "../db/queries/issue-lane.js";
import { saveIdempotencyKey } from "../db/queries/save-idempotency-key.js";
import { toTask } from "../db/queries/task-row.js";
import { DEFAULT_TASK_CONFIG } from "../workflow/defaults.js";
import { EventType, type DomainEvent, type IssueRef } from "../workflow/events.js";
import { API_ACTOR_PREFIX } from "../workflow/permissions.js";
import { isTerminalState, TaskState } from "../workflow/states.js";
import type { Task, TaskRepo } from "../workflow/task.js";
import { applyEventToTask } from "./apply-event-to-task.js";
import type { EngineDeps } from "./deps.js";

/** What an operator may do to a task, each the same as its label or `/foreman` comment. */
export type OperatorAction = "stop" | "retry" | "freeze" | "unfreeze";

/** Who acts: an API token (its name becomes the actor `api:<name>`). */
export interface OperatorActor {
  tokenId: string;
  tokenName: string;
}

/** Why an action was refused: no such task, or the task is not in a state the action applies to. */
export class OperatorActionError extends Error {
  constructor(
    readonly code: "not_found" | "conflict" | "idempotency_mismatch",
    message: string,
  ) {
    super(message);
    this.name = "OperatorActionError";
  }
}

/** What happened: the event was applied at once (the task as it is now), or queued behind the issue's earlier events. */
export interface OperatorActionResult {
  outcome: "applied" | "queued";
  deliveryId: string;
  task: Task | null;
}

/** The actor name recorded for an API token: `api:<token name>`. */
export function buildApiActor(actor: OperatorActor): string {
  return `${API_ACTOR_PREFIX}${actor.tokenName}`;
}

/**
 * Stop, retry, freeze or unfreeze a task as its `/foreman stop|retry` comment or its freeze label
 * would: the same domain event, with the API actor as its sender, through the issue's lane (applied
 * now when the lane is free), with an `operator.action` compliance record naming who asked.
 * `issue`: the issue as GitHub shows it now (a retry after the end starts from its text).
 */
export async function runOperatorAction(
  sql: SqlClient,
  deps: EngineDeps,
  request: { taskId: string; action: OperatorAction; actor: OperatorActor; issue?: IssueRef },
): Promise<OperatorActionResult> {
  const task = await findTask(sql, request.taskId);
  if (!task) throw new OperatorActionError("not_found", `No task ${request.taskId}. List tasks with GET /api/tasks.`);
  const event = buildActionEvent(task, request.action, buildApiActor(request.actor), deps, request.issue);
  return (sql as Sql).begin(async (tx) => {
    const deliveryId = `api:${deps.newId()}`;
    const record: NewComplianceRecord = {
      taskId: task.id,
      kind: "operator.action",
      actor: buildApiActor(request.actor),
      payload: { action: request.action, tokenId: request.actor.tokenId, deliveryId, event: event.type },
      createdAt: deps.now(),
    };
    const outcome = await deliverOperatorEvent(tx, deps, task.repo, task.issueNumber, event, deliveryId, [record]);
    return { outcome, deliveryId, task: await findTask(tx, task.id) };
  });
}

/**
 * Start a task for an issue as the trigger label would (`issue_labeled` with the API actor as its
 * sender). With an `Idempotency-Key`, the same key of the same token within 24 hours answers with
 * the first request's task; the same key with another request is refused.
 */
export async function startIssueTask(
  sql: SqlClient,
  deps: EngineDeps,
  request: {
    repo: TaskRepo;
    issue: IssueRef;
    label: string;
    actor: OperatorActor;
    idempotencyKey?: string;
  },
): Promise<OperatorActionResult & { replayed: boolean }> {
  const requestSha256 = createHash("sha256")
    .update(JSON.stringify([request.repo.id, request.issue.number, request.label]))
    .digest("hex");
  return (sql as Sql).begin(async (tx) => {
    const key = request.idempotencyKey;
    if (key !== undefined) {
      await tx`select pg_advisory_xact_lock(hashtext(${`${request.actor.tokenId}:${key}`}))`;
      const used = await findIdempotencyKey(tx, request.actor.tokenId, key);
      if (used) {
        if (used.requestSha256 !== requestSha256)
          throw new OperatorActionError(
            "idempotency_mismatch",
            "This Idempotency-Key was used in the last 24 hours for another request (another repository, issue or label). Send a new key for a new request.",
          );
        return {
          outcome: "applied",
          deliveryId: "",
          task: used.taskId ? await findTask(tx, used.taskId) : null,
          replayed: true,
        };
      }
    }
    const active = await findTaskForUpdate(tx, {
      by: "issue",
      repoId: request.repo.id,
      issueNumber: request.issue.number,
    });
    if (active)
      throw new OperatorActionError(
        "conflict",
        `Issue #${request.issue.number} already has the task ${String(active.id)} (${String(active.state)}). Stop it first, or retry it.`,
      );
    const actor = buildApiActor(request.actor);
    const event: DomainEvent = {
      type: EventType.issueLabeled,
      repo: request.repo,
      issue: request.issue,
      label: request.label,
      sender: actor,
    };
    const deliveryId = `api:${deps.newId()}`;
    const record: NewComplianceRecord = {
      taskId: null,
      kind: "operator.action",
      actor,
      payload: {
        action: "start",
        tokenId: request.actor.tokenId,
        deliveryId,
        event: event.type,
        repoId: request.repo.id,
        issueNumber: request.issue.number,
        label: request.label,
      },
      createdAt: deps.now(),
    };
    const outcome = await deliverOperatorEvent(tx, deps, request.repo, request.issue.number, event, deliveryId, [
      record,
    ]);
    const row =
      outcome === "applied"
        ? await findTaskForUpdate(tx, { by: "issue", repoId: request.repo.id, issueNumber: request.issue.number })
        : null;
    const task = row ? toTask(row) : null;
    if (key !== undefined)
      await saveIdempotencyKey(tx, { tokenId: request.actor.tokenId, key, requestSha256, taskId: task?.id ?? null });
    return { outcome, deliveryId, task, replayed: false };
  });
}

/** Store the event in the issue's lane and apply it now when nothing older waits there. */
async function deliverOperatorEvent(
  tx: SqlClient,
  deps: EngineDeps,
  repo: TaskRepo,
  issueNumber: number,
  event: DomainEvent,
  deliveryId: string,
  records: NewComplianceRecord[],
): Promise<"applied" | "queued"> {
  const stored = await insertTaskEvent(
    tx,
    {
      deliveryId,
      dedupeKey: deliveryId,
      source: "operator",
      eventName: `api.${event.type}`,
      lane: buildIssueLane(repo.id, issueNumber),
      event,
    },
    { applyNow: true },
  );
  if (stored === "apply") {
    await applyEventToTask(tx, event, { deliveryId, eventName: `api.${event.type}` }, deps, records);
    return "applied";
  }
  await appendComplianceRecords(tx, records);
  return "queued";
}

/** The event the action's label or comment would produce, or why the task is not in a state for it. */
function buildActionEvent(
  task: Task,
  action: OperatorAction,
  actor: string,
  deps: EngineDeps,
  issue: IssueRef | undefined,
): DomainEvent {
  const ended = isTerminalState(task.state);
  if (ended && action !== "retry")
    throw new OperatorActionError(
      "conflict",
      `The task ${task.id} has ended (${task.state}); only retry applies to it.`,
    );
  const freezeLabel = task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel;
  const ref: IssueRef = issue ?? { number: task.issueNumber, title: task.issueTitle };
  switch (action) {
    case "stop":
    case "retry":
      return {
        type: EventType.commandReceived,
        repo: task.repo,
        issue: ref,
        sender: actor,
        command: action,
        // No comment carries an API command: a negative id can never be a GitHub comment's.
        commentId: -Math.floor(1 + deps.random() * 2 ** 47),
        onPullRequest: false,
      };
    case "freeze":
      if (task.state === TaskState.frozen)
        throw new OperatorActionError("conflict", `The task ${task.id} is frozen already; unfreeze it instead.`);
      return { type: EventType.issueLabeled, repo: task.repo, issue: ref, label: freezeLabel, sender: actor };
    case "unfreeze":
      if (task.state !== TaskState.frozen)
        throw new OperatorActionError("conflict", `The task ${task.id} is not frozen (${task.state}).`);
      if (task.frozenOn === "pull_request" && task.prNumber !== null)
        return {
          type: EventType.pullRequestUnlabeled,
          repo: task.repo,
          prNumber: task.prNumber,
          headRef: task.branch ?? "",
          label: freezeLabel,
          sender: actor,
        };
      return { type: EventType.issueUnlabeled, repo: task.repo, issue: ref, label: freezeLabel, sender: actor };
  }
}
