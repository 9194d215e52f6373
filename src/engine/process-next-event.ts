import type { DbOrTx } from "../db/client.js";
import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { claimNextInboxEvent, type ClaimedInboxEvent } from "../db/queries/claim-next-inbox-event.js";
import { findTaskForUpdate, type TaskLookup } from "../db/queries/find-task-for-update.js";
import { markInboxEventDone, recordInboxEventFailure } from "../db/queries/finish-inbox-event.js";
import { insertEffects } from "../db/queries/insert-effects.js";
import { findKnownTriggerLabels } from "../db/queries/known-trigger-labels.js";
import { insertTask, saveTask } from "../db/queries/save-task.js";
import { skipHeldEffects } from "../db/queries/finish-effect.js";
import { toTask } from "../db/queries/task-row.js";
import { markRepositoriesRemoved, upsertInstallation, upsertRepositories } from "../db/queries/upsert-installation.js";
import type { DirectoryEvent } from "../webhooks/adapt-installation-event.js";
import { findEventActor, type DomainEvent } from "../workflow/events.js";
import { isTerminalState } from "../workflow/states.js";
import { transition } from "../workflow/transition.js";
import type { EngineDeps } from "./deps.js";
import { computeBackoffMs } from "./errors.js";

const MAX_EVENT_ATTEMPTS = 5;

/**
 * Take the next inbox event and apply it in one transaction: load and lock the task, run the pure
 * transition, save the task (compare-and-swap), queue its effects, append the compliance record,
 * mark the event done. Returns false when there was nothing to do.
 */
export async function processNextEvent(deps: EngineDeps): Promise<boolean> {
  let claimed: ClaimedInboxEvent | null = null;
  try {
    return await deps.database.db.transaction(async (tx) => {
      claimed = await claimNextInboxEvent(tx);
      if (!claimed) return false;
      if (isDirectoryEvent(claimed.event)) {
        await applyDirectoryEvent(tx, claimed.event);
      } else {
        await applyDomainEvent(tx, claimed, claimed.event as DomainEvent, deps);
      }
      await markInboxEventDone(tx, claimed.id);
      return true;
    });
  } catch (error) {
    if (!claimed) throw error;
    const failed: ClaimedInboxEvent = claimed;
    const attempt = failed.attempts + 1;
    const retryIn = attempt < MAX_EVENT_ATTEMPTS ? computeBackoffMs(attempt, deps.random, deps.retryBaseMs) : null;
    deps.log.error({ err: error, deliveryId: failed.deliveryId, lane: failed.lane, attempt }, "processing an event failed");
    await recordInboxEventFailure(deps.database.db, failed.id, String((error as Error)?.message ?? error), retryIn);
    return true;
  }
}

function isDirectoryEvent(event: unknown): event is DirectoryEvent {
  const type = (event as { type?: string }).type;
  return type === "installation_changed" || type === "repositories_changed";
}

async function applyDirectoryEvent(tx: DbOrTx, event: DirectoryEvent): Promise<void> {
  if (event.type === "installation_changed") {
    await upsertInstallation(tx, event.installation);
    await upsertRepositories(tx, event.installation.id, event.added);
    return;
  }
  await upsertRepositories(tx, event.installationId, event.added);
  await markRepositoriesRemoved(tx, event.removed);
}

function buildLookup(event: DomainEvent): TaskLookup {
  if ("taskId" in event) return { by: "id", taskId: event.taskId };
  if ("issue" in event) return { by: "issue", repoId: event.repo.id, issueNumber: event.issue.number };
  return { by: "pull_request", repoId: event.repo.id, prNumber: event.prNumber };
}

async function applyDomainEvent(tx: DbOrTx, claimed: ClaimedInboxEvent, event: DomainEvent, deps: EngineDeps): Promise<void> {
  const row = await findTaskForUpdate(tx, buildLookup(event));
  const task = row ? toTask(row) : null;
  const knownTriggerLabels = task === null && "repo" in event ? await findKnownTriggerLabels(tx, event.repo.id) : [];
  const now = deps.now();
  const { next, effects } = transition(task, event, now, { newTaskId: deps.newId(), knownTriggerLabels });
  if (next === null || (next === task && effects.length === 0)) return;

  if (task === null || row === null) await insertTask(tx, next);
  else await saveTask(tx, next, row.version);
  await insertEffects(tx, next.id, effects);
  if (task !== null && isTerminalState(next.state) && !isTerminalState(task.state)) await skipHeldEffects(tx, next.id);

  deps.log.info({ taskId: next.id, deliveryId: claimed.deliveryId, event: event.type, from: task?.state ?? null, to: next.state }, "task transition");
  await appendComplianceRecords(tx, [
    {
      taskId: next.id,
      kind: "task.transition",
      actor: findEventActor(event),
      payload: {
        event: event.type,
        eventName: claimed.eventName,
        deliveryId: claimed.deliveryId,
        from: task?.state ?? null,
        to: next.state,
        resumeState: next.resumeState,
        effects: effects.map((effect) => effect.kind),
        reason: next.reason,
      },
      createdAt: now,
    },
  ]);
}
