import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords, type NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { insertTaskEvent } from "../db/queries/insert-task-event.js";
import { buildIssueLane } from "../db/queries/issue-lane.js";
import type { TaskRow } from "../db/queries/task-row.js";
import type { DomainEvent } from "../workflow/events.js";
import type { Task } from "../workflow/task.js";
import { applyEventToTask } from "./apply-event-to-task.js";
import type { EngineDeps } from "./deps.js";
import { traceWork } from "../telemetry/tracing.js";

/**
 * Hand an event Foreman produced (an effect's result, an agent job's start or end) to its task, in
 * the caller's transaction, through the one path (`insertTaskEvent`): applied at once when the
 * issue's lane has nothing older waiting, else queued behind it. The compliance records of what
 * happened are appended either way, before the transition they caused. Keyed by `deliveryId`:
 * twice is once. `lockedRow`: the task row when the caller already holds its lock. Applied at
 * once, the transition is a span inside the caller's (the effect or job that produced the event).
 */
export async function deliverTaskEvent(
  tx: SqlClient,
  deps: EngineDeps,
  task: Task,
  event: DomainEvent,
  deliveryId: string,
  records: NewComplianceRecord[],
  lockedRow?: TaskRow,
): Promise<"applied" | "queued" | "duplicate"> {
  const stored = await insertTaskEvent(
    tx,
    {
      deliveryId,
      dedupeKey: deliveryId,
      source: "effect",
      eventName: event.type,
      lane: buildIssueLane(task.repo.id, task.issueNumber),
      event,
    },
    { applyNow: true },
  );
  if (stored === "apply") {
    await traceWork(
      `transition ${event.type}`,
      { attributes: { "foreman.event": event.type, "foreman.inbox_delivery_id": deliveryId } },
      () => applyEventToTask(tx, event, { deliveryId, eventName: event.type }, deps, records, lockedRow),
    );
    return "applied";
  }
  await appendComplianceRecords(tx, records);
  return stored;
}
