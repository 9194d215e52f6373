import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords, type NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { insertTaskEvent } from "../db/queries/insert-task-event.js";
import { buildIssueLane } from "../db/queries/issue-lane.js";
import type { DomainEvent } from "../workflow/events.js";
import type { Task } from "../workflow/task.js";
import { applyEventToTask } from "./apply-event-to-task.js";
import type { EngineDeps } from "./deps.js";

/**
 * Hand an event Foreman produced (an agent job's start or end) to its task, in the caller's
 * transaction: applied at once when the issue's lane has nothing older waiting, else queued. The
 * compliance records of what happened are appended either way. Keyed by `deliveryId`: twice is once.
 */
export async function deliverTaskEvent(
  tx: SqlClient,
  deps: EngineDeps,
  task: Task,
  event: DomainEvent,
  deliveryId: string,
  records: NewComplianceRecord[],
): Promise<"applied" | "queued" | "duplicate"> {
  const lane = buildIssueLane(task.repo.id, task.issueNumber);
  const stored = await insertTaskEvent(tx, {
    deliveryId,
    dedupeKey: deliveryId,
    source: "effect",
    eventName: event.type,
    lane,
    event,
  });
  if (stored === "apply") {
    await applyEventToTask(tx, event, { deliveryId, eventName: event.type }, deps, records);
    return "applied";
  }
  await appendComplianceRecords(tx, records);
  return stored;
}
