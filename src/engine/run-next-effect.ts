import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { claimNextEffect, type ClaimedEffect } from "../db/queries/claim-next-effect.js";
import { findStatusCommentId } from "../db/queries/find-status-comment-id.js";
import { hasNewerStatusEffect, markEffectDone, markEffectFailed, scheduleEffectRetry } from "../db/queries/finish-effect.js";
import { insertResultEvent } from "../db/queries/insert-inbox-event.js";
import { saveKnownTriggerLabels } from "../db/queries/known-trigger-labels.js";
import { setStatusCommentId } from "../db/queries/save-task.js";
import { findRowStatusCommentId, toTask } from "../db/queries/task-row.js";
import { buildIssueLane } from "../webhooks/build-inbox-event.js";
import { EffectKind } from "../workflow/effects.js";
import { EventType, type DomainEvent } from "../workflow/events.js";
import type { Task } from "../workflow/task.js";
import type { SqlClient } from "../db/client.js";
import type { NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { applyEventToTask } from "./apply-event-to-task.js";
import type { EngineDeps } from "./deps.js";
import { classifyError, computeBackoffMs, type Failure } from "./errors.js";
import type { EffectOutcome } from "./effects/effect-outcome.js";
import { executeEffect } from "./effects/execute-effect.js";

const APP_ACTOR = "foreman[app]";

/**
 * Lease the next runnable effect and execute it outside any transaction. Success: one transaction
 * marks it done, feeds its result event to the task's lane and appends the compliance record.
 * A transient failure is retried later with backoff; a permanent one (or the last attempt) fails
 * the effect and tells the task, which tells the user. Returns false when there was nothing to do.
 */
export async function runNextEffect(deps: EngineDeps): Promise<boolean> {
  const { sql } = deps.database;
  const claimed = await claimNextEffect(sql, deps.replicaId, deps.leaseMs);
  if (!claimed) return false;
  const task = toTask(claimed.task);
  const log = deps.log.child({ taskId: task.id, effectId: claimed.id, effect: claimed.kind, attempt: claimed.attempts });

  // An older status update is pointless when a newer one is queued: it would render the same task.
  if (claimed.kind === EffectKind.upsertStatusComment && (await hasNewerStatusEffect(sql, task.id, claimed.id))) {
    await markEffectDone(sql, claimed.id);
    return true;
  }
  let outcome: EffectOutcome;
  try {
    const statusCommentId =
      findRowStatusCommentId(claimed.task) ??
      (claimed.kind === EffectKind.upsertStatusComment ? await findStatusCommentId(sql, task.repo.id, task.issueNumber) : null);
    outcome = await executeEffect(claimed.kind, {
      payload: claimed.payload,
      task,
      octokit: await deps.github(task.repo.installationId),
      attempt: claimed.attempts,
      statusCommentId,
      webBaseUrl: deps.webBaseUrl,
    });
  } catch (error) {
    const failure = classifyError(error);
    if (failure.retryable && claimed.attempts < deps.maxEffectAttempts) {
      const delay = computeBackoffMs(claimed.attempts, deps.random, deps.retryBaseMs);
      log.warn({ err: error, code: failure.code, retryInMs: delay }, "effect failed; will retry");
      await scheduleEffectRetry(sql, claimed.id, failure.message, delay);
    } else {
      log.error({ err: error, code: failure.code }, "effect failed for good");
      await recordFailure(deps, claimed, task, failure);
    }
    return true;
  }
  // Outside the catch on purpose: if recording fails (the database blinked), the lease expires and
  // the effect runs again — harmless, it is idempotent — rather than failing a task whose action worked.
  await recordSuccess(deps, claimed, task, outcome);
  log.debug("effect done");
  return true;
}

async function recordSuccess(deps: EngineDeps, claimed: ClaimedEffect, task: Task, outcome: EffectOutcome): Promise<void> {
  const record: NewComplianceRecord = {
    taskId: task.id,
    kind: `effect.${claimed.kind}`,
    actor: APP_ACTOR,
    payload: { effectId: claimed.id, attempt: claimed.attempts, ...outcome.evidence },
    createdAt: deps.now(),
  };
  await deps.database.sql.begin(async (tx) => {
    await Promise.all([
      markEffectDone(tx, claimed.id),
      outcome.statusCommentId !== undefined ? setStatusCommentId(tx, task.id, outcome.statusCommentId) : null,
      outcome.knownTriggerLabels
        ? saveKnownTriggerLabels(tx, { id: task.repo.id, installationId: task.repo.installationId, fullName: `${task.repo.owner}/${task.repo.name}` }, outcome.knownTriggerLabels)
        : null,
    ]);
    await feedBack(tx, deps, claimed, task, outcome.event ?? null, record);
  });
}

async function recordFailure(deps: EngineDeps, claimed: ClaimedEffect, task: Task, failure: Failure): Promise<void> {
  const record: NewComplianceRecord = {
    taskId: task.id,
    kind: `effect.${claimed.kind}.failed`,
    actor: APP_ACTOR,
    payload: { effectId: claimed.id, attempt: claimed.attempts, ...failure },
    createdAt: deps.now(),
  };
  const event: DomainEvent = { type: EventType.effectFailed, taskId: task.id, effectKind: claimed.kind, code: failure.code, message: failure.message };
  await deps.database.sql.begin(async (tx) => {
    await markEffectFailed(tx, claimed.id, failure.message);
    await feedBack(tx, deps, claimed, task, event, record);
  });
}

/**
 * Record the action and hand its result event to the task. Keyed by the effect, so an effect that
 * ran twice (a lease expired mid-flight) counts once. When the issue's lane has nothing older
 * waiting, the event is applied right here, in the same transaction; otherwise it waits its turn.
 */
async function feedBack(tx: SqlClient, deps: EngineDeps, claimed: ClaimedEffect, task: Task, event: DomainEvent | null, record: NewComplianceRecord): Promise<void> {
  if (event === null) {
    await appendComplianceRecords(tx, [record]);
    return;
  }
  const origin = { deliveryId: `effect:${claimed.id}`, eventName: event.type };
  const stored = await insertResultEvent(tx, { ...origin, dedupeKey: origin.deliveryId, source: "effect", lane: buildIssueLane(task.repo.id, task.issueNumber), event });
  if (stored === "apply") await applyEventToTask(tx, event, origin, deps, [record]);
  else await appendComplianceRecords(tx, [record]);
}
