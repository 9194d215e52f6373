import type { SqlClient } from "../db/client.js";
import { claimNextInboxEvent, type ClaimedInboxEvent } from "../db/queries/claim-next-inbox-event.js";
import { hasReadyInboxEvent } from "../db/queries/has-ready-inbox-event.js";
import { recordInboxEventFailure } from "../db/queries/finish-inbox-event.js";
import { upsertInstallation } from "../db/queries/upsert-installation.js";
import { markRepositoriesRemoved } from "../db/queries/mark-repositories-removed.js";
import { upsertRepositories } from "../db/queries/upsert-repositories.js";
import type { DirectoryEvent } from "../webhooks/adapt-installation-event.js";
import type { DomainEvent } from "../workflow/events.js";
import { applyEventToTask } from "./apply-event-to-task.js";
import type { EngineDeps } from "./deps.js";
import { computeBackoffMs } from "../resilience/errors.js";
import { traceWork } from "../telemetry/tracing.js";

const MAX_EVENT_ATTEMPTS = 5;

/**
 * Take the next inbox event and apply it in one transaction: load and lock the task, run the pure
 * transition, save the task (compare-and-swap), queue its effects, append the compliance record;
 * the claim marks the event done in the same transaction. Returns false when there was nothing to do.
 * It runs as a span continuing the trace of whatever stored the event, and its log lines name the
 * delivery behind it (the task's too, once found). `lookFirst` (the default) first takes a cheap
 * look outside any transaction, which spares an idle poll a transaction; a caller that has just
 * taken an event (a backlog is likely) skips it, sparing each event of a burst a round trip.
 */
export async function processNextEvent(deps: EngineDeps, options: { lookFirst?: boolean } = {}): Promise<boolean> {
  if (options.lookFirst !== false && !(await hasReadyInboxEvent(deps.database.sql))) return false;
  let claimed: ClaimedInboxEvent | null = null;
  try {
    return await deps.database.sql.begin(async (tx) => {
      const event = (claimed = await claimNextInboxEvent(tx));
      if (!event) return false;
      const type = String((event.event as { type?: unknown }).type);
      await traceWork(
        `transition ${type}`,
        {
          correlation: { deliveryId: event.causeDeliveryId ?? event.deliveryId },
          attributes: {
            "foreman.event": type,
            "foreman.inbox_delivery_id": event.deliveryId,
            "foreman.lane": event.lane,
          },
          parent: event.traceparent ?? null,
          kind: "consumer",
        },
        async () => {
          if (isDirectoryEvent(event.event)) await applyDirectoryEvent(tx, event.event);
          else await applyEventToTask(tx, event.event as DomainEvent, event, deps);
        },
      );
      return true;
    });
  } catch (error) {
    if (!claimed) throw error;
    const failed: ClaimedInboxEvent = claimed;
    const attempt = failed.attempts + 1;
    const retryIn = attempt < MAX_EVENT_ATTEMPTS ? computeBackoffMs(attempt, deps.random, deps.retryBaseMs) : null;
    deps.log.error(
      { err: error, deliveryId: failed.deliveryId, lane: failed.lane, attempt },
      "processing an event failed",
    );
    await recordInboxEventFailure(deps.database.sql, failed.id, String((error as Error)?.message ?? error), retryIn);
    return true;
  }
}

function isDirectoryEvent(event: unknown): event is DirectoryEvent {
  const type = (event as { type?: string }).type;
  return type === "installation_changed" || type === "repositories_changed";
}

async function applyDirectoryEvent(tx: SqlClient, event: DirectoryEvent): Promise<void> {
  if (event.type === "installation_changed") {
    await upsertInstallation(tx, event.installation);
    await upsertRepositories(tx, event.installation.id, event.added);
    return;
  }
  await upsertRepositories(tx, event.installationId, event.added);
  await markRepositoriesRemoved(tx, event.removed);
}
