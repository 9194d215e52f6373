import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords, type NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { skipHeldEffects } from "../db/queries/finish-effect.js";
import { findTaskForUpdate, type TaskLookup } from "../db/queries/find-task-for-update.js";
import { cancelAgentJob } from "../db/queries/cancel-agent-job.js";
import { insertAgentJob } from "../db/queries/insert-agent-job.js";
import { insertEffects } from "../db/queries/insert-effects.js";
import { findKnownTriggerLabels } from "../db/queries/known-trigger-labels.js";
import { insertTask, saveTask } from "../db/queries/save-task.js";
import { toTask, type TaskRow } from "../db/queries/task-row.js";
import { TRIGGER_LABEL_PREFIX } from "../workflow/defaults.js";
import { EffectKind, isInternalEffect, type Effect } from "../workflow/effects.js";
import { EventType, findEventActor, type DomainEvent } from "../workflow/events.js";
import type { Task } from "../workflow/task.js";
import { isTerminalState } from "../workflow/states.js";
import { transition } from "../workflow/transition.js";
import type { EngineDeps } from "./deps.js";
import { enqueueChangeHook } from "../compliance/change-hook.js";

/** Where an event came from, for the log and the compliance record. */
export interface EventOrigin {
  deliveryId: string;
  eventName: string;
}

function buildLookup(event: DomainEvent): TaskLookup {
  if ("taskId" in event) return { by: "id", taskId: event.taskId };
  if ("issue" in event) return { by: "issue", repoId: event.repo.id, issueNumber: event.issue.number };
  return { by: "pull_request", repoId: event.repo.id, prNumber: event.prNumber };
}

/** Custom trigger labels matter only for a label that could start a task and lacks the agent: prefix. */
function needsKnownLabels(event: DomainEvent): boolean {
  if (event.type === EventType.issueLabeled) return !event.label.startsWith(TRIGGER_LABEL_PREFIX);
  return event.type === EventType.issueReopened;
}

/**
 * Apply one event inside the caller's transaction: lock the task, run the pure transition, save
 * the task (compare-and-swap), queue its effects, and append the compliance records — `extra`
 * records (the action that produced the event) first, then the transition. Independent statements
 * are issued together so they travel pipelined on the transaction's connection.
 */
export async function applyEventToTask(
  tx: SqlClient,
  event: DomainEvent,
  origin: EventOrigin,
  deps: EngineDeps,
  extra: NewComplianceRecord[] = [],
  /** The task row when the caller has already locked it in this transaction. */
  lockedRow?: TaskRow,
): Promise<void> {
  const row = lockedRow ?? (await findTaskForUpdate(tx, buildLookup(event)));
  const task = row ? toTask(row) : null;
  const knownTriggerLabels = task === null && "repo" in event && needsKnownLabels(event) ? await findKnownTriggerLabels(tx, event.repo.id) : [];
  const now = deps.now();
  const { next, effects } = transition(task, event, now, { newTaskId: deps.newId(), newJobId: deps.newId(), knownTriggerLabels });
  if (next === null || (next === task && effects.length === 0)) {
    if (extra.length > 0) await appendComplianceRecords(tx, extra);
    return;
  }
  deps.log.info({ taskId: next.id, deliveryId: origin.deliveryId, event: event.type, from: task?.state ?? null, to: next.state }, "task transition");
  const record: NewComplianceRecord = {
    taskId: next.id,
    kind: "task.transition",
    actor: findEventActor(event),
    payload: {
      event: event.type,
      eventName: origin.eventName,
      deliveryId: origin.deliveryId,
      from: task?.state ?? null,
      to: next.state,
      resumeState: next.resumeState,
      effects: effects.map((effect) => effect.kind),
      reason: next.reason,
    },
    createdAt: now,
  };
  const outbox = effects.filter((effect) => !isInternalEffect(effect));
  // A task that ends drops what it had queued — before its own closing effects are queued — and
  // its evidence summary is queued for the change-management hook (durably retried; once per task).
  const ended = isTerminalState(next.state) && (task === null || !isTerminalState(task.state));
  if (ended && task !== null) await skipHeldEffects(tx, next.id);
  await Promise.all([
    task === null || row === null ? insertTask(tx, next) : saveTask(tx, next, Number(row.version)),
    insertEffects(tx, next.id, outbox),
    ...effects.filter(isInternalEffect).map((effect) => applyInternalEffect(tx, next, effect, deps)),
    appendComplianceRecords(tx, [...extra, record]),
  ]);
  if (ended) await enqueueChangeHook(tx, next.id);
}

/** Effects that only touch Foreman's own tables run in the transition's transaction: exactly once, with it. */
function applyInternalEffect(tx: SqlClient, task: Task, effect: Extract<Effect, { kind: "dispatch_agent_job" | "cancel_agent_job" }>, deps: EngineDeps): Promise<void> {
  if (effect.kind === EffectKind.cancelAgentJob) {
    deps.onJobCancelled?.(effect.jobId);
    return cancelAgentJob(tx, effect.jobId);
  }
  return insertAgentJob(tx, { id: effect.jobId, taskId: task.id, role: effect.role, profile: task.config?.agent ?? deps.defaultAgent, baseSha: effect.baseSha });
}
