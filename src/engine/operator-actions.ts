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
import {
  API_ACTOR_PREFIX,
  API_ACTOR_ROLE,
  findTrustedActorRole,
  OPERATOR_ACTOR_PREFIX,
} from "../workflow/permissions.js";
import { isTerminalState, TaskState } from "../workflow/states.js";
import type { Task, TaskRepo } from "../workflow/task.js";
import { applyEventToTask } from "./apply-event-to-task.js";
import type { EngineDeps } from "./deps.js";

/** What an operator may do to a task, each the same as its label or `/foreman` comment. */
export type OperatorAction = "stop" | "retry" | "freeze" | "unfreeze";

/**
 * Who acts, trusted by its own credential: an API token (actor `api:<token name>`, its role checked
 * by the API) or an operator at the `foreman` command line (actor `operator:<OS user or --as
 * name>`, trusted by having the database).
 */
export type OperatorActor = { kind: "api"; tokenId: string; tokenName: string } | { kind: "operator"; user: string };

/**
 * How the event reaches the task: applied now when an engine is at hand and the issue's lane is
 * free (the API), or only stored in the lane for the running Foreman to apply (the command line).
 */
export type DeliveryMode =
  { mode: "apply"; engine: EngineDeps } | { mode: "queue"; clock: Pick<EngineDeps, "now" | "newId" | "random"> };

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

/** The actor name recorded for who acted: `api:<token name>` or `operator:<name>`. */
export function buildActorName(actor: OperatorActor): string {
  return actor.kind === "api" ? `${API_ACTOR_PREFIX}${actor.tokenName}` : `${OPERATOR_ACTOR_PREFIX}${actor.user}`;
}

/**
 * Stop, retry, freeze or unfreeze a task as its `/foreman stop|retry` comment or its freeze label
 * would, for the API and the command line alike: stop and retry are the `actor_checked` event such
 * a comment leads to once its sender's role is known (the actor's fixed role,
 * `findTrustedActorRole`), freeze and unfreeze the freeze label's events, with the actor as sender;
 * stored in the issue's lane (and applied now in `apply` mode when the lane is free), with one
 * `operator.action` compliance record naming who asked, in the same transaction. In `apply` mode a
 * freeze or unfreeze also puts the freeze label on, or takes it off, the issue or PR on GitHub.
 * `issue`: the issue as GitHub shows it now (a retry after the end starts from its text).
 */
export async function runOperatorAction(
  sql: SqlClient,
  delivery: DeliveryMode,
  request: { taskId: string; action: OperatorAction; actor: OperatorActor; issue?: IssueRef },
): Promise<OperatorActionResult> {
  const clock = delivery.mode === "apply" ? delivery.engine : delivery.clock;
  const task = await findTask(sql, request.taskId);
  if (!task) throw new OperatorActionError("not_found", `No task ${request.taskId}. List tasks with GET /api/tasks.`);
  const actor = buildActorName(request.actor);
  const event = buildActionEvent(task, request.action, actor, clock.random, request.issue);
  const result = await (sql as Sql).begin(async (tx) => {
    const deliveryId = `${request.actor.kind}:${clock.newId()}`;
    const record: NewComplianceRecord = {
      taskId: task.id,
      kind: "operator.action",
      actor,
      payload: {
        action: request.action,
        via: request.actor.kind === "api" ? "api" : "cli",
        ...(request.actor.kind === "api" ? { tokenId: request.actor.tokenId } : {}),
        deliveryId,
        event: event.type,
        repoId: task.repo.id,
        issueNumber: task.issueNumber,
      },
      createdAt: clock.now(),
    };
    const outcome = await deliverOperatorEvent(tx, delivery, task.repo, task.issueNumber, event, deliveryId, [record]);
    return { outcome, deliveryId, task: await findTask(tx, task.id) };
  });
  if (delivery.mode === "apply" && (request.action === "freeze" || request.action === "unfreeze"))
    await showFreezeLabel(delivery.engine, task, event);
  return result;
}

/**
 * Make the freeze label on GitHub match a freeze or unfreeze through the API, so people see it as
 * if someone had labelled by hand: look at the labels first and write only what is missing (a label
 * already there is not added again, one already gone not removed). Foreman's own label webhook that
 * follows changes nothing (the task is frozen, or no longer). A failed write leaves the action done.
 */
async function showFreezeLabel(engine: EngineDeps, task: Task, event: DomainEvent): Promise<void> {
  if (!("label" in event)) return;
  const number = event.type === EventType.pullRequestUnlabeled ? event.prNumber : task.issueNumber;
  const adding = event.type === EventType.issueLabeled;
  try {
    const octokit = await engine.github(task.repo.installationId);
    const params = { owner: task.repo.owner, repo: task.repo.name, issue_number: number };
    const labels = await octokit.paginate(octokit.rest.issues.listLabelsOnIssue, { ...params, per_page: 100 });
    const present = labels.some((label) => label.name === event.label);
    if (adding && !present) await octokit.rest.issues.addLabels({ ...params, labels: [event.label] });
    if (!adding && present) await octokit.rest.issues.removeLabel({ ...params, name: event.label });
  } catch (error) {
    if ((error as { status?: number }).status === 404 && !adding) return;
    engine.log.warn({ err: error, taskId: task.id, label: event.label }, "freeze label not shown on GitHub");
  }
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
    actor: { tokenId: string; tokenName: string };
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
    const actor = buildActorName({ kind: "api", ...request.actor });
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
        via: "api",
        tokenId: request.actor.tokenId,
        deliveryId,
        event: event.type,
        repoId: request.repo.id,
        issueNumber: request.issue.number,
        label: request.label,
      },
      createdAt: deps.now(),
    };
    const outcome = await deliverOperatorEvent(
      tx,
      { mode: "apply", engine: deps },
      request.repo,
      request.issue.number,
      event,
      deliveryId,
      [record],
    );
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

/** Store the event in the issue's lane; in `apply` mode, apply it now when nothing older waits there. */
async function deliverOperatorEvent(
  tx: SqlClient,
  delivery: DeliveryMode,
  repo: TaskRepo,
  issueNumber: number,
  event: DomainEvent,
  deliveryId: string,
  records: NewComplianceRecord[],
): Promise<"applied" | "queued"> {
  const eventName = `${deliveryId.slice(0, deliveryId.indexOf(":"))}.${event.type}`;
  const stored = await insertTaskEvent(
    tx,
    {
      deliveryId,
      dedupeKey: deliveryId,
      source: "operator",
      eventName,
      lane: buildIssueLane(repo.id, issueNumber),
      event,
    },
    { applyNow: delivery.mode === "apply" },
  );
  if (stored === "apply" && delivery.mode === "apply") {
    await applyEventToTask(tx, event, { deliveryId, eventName }, delivery.engine, records);
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
  random: () => number,
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
        type: EventType.actorChecked,
        taskId: task.id,
        login: actor,
        role: findTrustedActorRole(actor) ?? API_ACTOR_ROLE,
        action: {
          kind: "command",
          command: action,
          // No comment carries an operator's command: a negative id can never be a GitHub comment's.
          commentId: -Math.floor(1 + random() * 2 ** 47),
          // A retry after the end starts a new task from the issue's text as GitHub shows it now.
          ...(action === "retry" && issue ? { issue } : {}),
        },
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
