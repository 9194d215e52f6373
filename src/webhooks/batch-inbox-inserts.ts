import type { Database } from "../db/client.js";
import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { insertInboxEvents } from "../db/queries/insert-inbox-events.js";
import { captureCause, type Cause } from "../telemetry/tracing.js";

/** The most deliveries one commit carries: a short, bounded batch. */
export const INBOX_BATCH_MAX = 100;
// Commits under way at once: while they run, new deliveries gather for the next one.
const COMMITS_IN_FLIGHT = 2;

interface Waiting {
  event: NewInboxEvent;
  cause: Cause;
  resolve(stored: boolean): void;
  reject(error: unknown): void;
}

/**
 * Group commit for the inbox: deliveries that arrive while a commit is under way are stored
 * together by the next statement (`insertInboxEvents`: one insert of at most `maxBatch` rows, its
 * own transaction; no timer: a lone delivery is committed at once), so concurrent deliveries share
 * one durable commit, and one round trip, instead of one each.
 * Each promise settles only after its batch committed: true when its row is new, false for a
 * duplicate (same delivery or same meaning, as `insertInboxEvent` decides for one). A batch that
 * fails rejects every delivery in it, so GitHub redelivers them all; none of its rows is stored.
 */
export function createInboxBatcher(
  database: Database,
  onCommitted: (storedCount: number) => void,
  maxBatch = INBOX_BATCH_MAX,
): (event: NewInboxEvent) => Promise<boolean> {
  const queue: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

  const commit = async (batch: Waiting[]): Promise<void> => {
    try {
      const stored = await insertInboxEvents(database.sql, batch);
      batch.forEach((waiting, index) => waiting.resolve(stored[index]!));
      onCommitted(stored.filter(Boolean).length);
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  };

  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0 && inFlight < COMMITS_IN_FLIGHT) {
      const batch = queue.splice(0, maxBatch);
      inFlight += 1;
      void commit(batch).finally(() => {
        inFlight -= 1;
        schedule();
      });
    }
  };

  // Deliveries recorded in the same turn of the event loop join one batch.
  const schedule = (): void => {
    if (scheduled || queue.length === 0 || inFlight >= COMMITS_IN_FLIGHT) return;
    scheduled = true;
    setImmediate(flush);
  };

  return (event) =>
    new Promise<boolean>((resolve, reject) => {
      // The cause is the delivery's own (its span, its delivery id), taken now, not at the commit.
      queue.push({ event, cause: captureCause(), resolve, reject });
      schedule();
    });
}
