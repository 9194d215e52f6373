import { beforeEach, describe, expect, test } from "vitest";
import type { NewInboxEvent } from "../../src/db/queries/insert-inbox-event.js";
import { createInboxBatcher } from "../../src/webhooks/batch-inbox-inserts.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// Group commit of the inbox: concurrent deliveries share one transaction; each is answered only
// after that transaction committed; a failed batch fails every delivery in it; dedupe unchanged.

const database = useTestDatabase();

function buildEvent(n: number, overrides: Partial<NewInboxEvent> = {}): NewInboxEvent {
  return {
    deliveryId: `group-${n}`,
    dedupeKey: `issues.labeled:${n}`,
    source: "github",
    eventName: "issues.labeled",
    lane: `issue:acme/widgets#${n}`,
    event: { n },
    ...overrides,
  };
}

async function readStoredIds(): Promise<string[]> {
  const rows = await database.sql<{ delivery_id: string }[]>`
    select delivery_id from webhook_deliveries order by delivery_id`;
  return rows.map((row) => row.delivery_id);
}

describe("createInboxBatcher", () => {
  beforeEach(() => resetTables(database));

  test("concurrent deliveries are all stored, in batches no larger than the bound, and every one is answered", async () => {
    const commits: number[] = [];
    const insert = createInboxBatcher(database, (count) => commits.push(count), 7);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, n) => insert(buildEvent(n))));
    expect(answers).toEqual(Array.from({ length: 50 }, () => true));
    expect(await readStoredIds()).toEqual(Array.from({ length: 50 }, (_, n) => `group-${n}`).sort());
    // 50 deliveries at once, at most 7 a commit: fewer commits than deliveries, none over the bound.
    expect(commits.reduce((sum, count) => sum + count, 0)).toBe(50);
    expect(commits.length).toBeGreaterThanOrEqual(Math.ceil(50 / 7));
    expect(commits.length).toBeLessThan(50);
    expect(Math.max(...commits)).toBeLessThanOrEqual(7);
  });

  test("a delivery's answer comes after its row is committed: visible to another connection", async () => {
    const insert = createInboxBatcher(database, () => {});
    expect(await insert(buildEvent(1))).toBe(true);
    expect(await readStoredIds()).toEqual(["group-1"]);
  });

  test("a batch that fails rejects every delivery in it and stores none of them", async () => {
    const insert = createInboxBatcher(database, () => {});
    // Recorded in one turn of the event loop: one batch. The third violates delivery_id's not-null.
    const answers = await Promise.allSettled([
      insert(buildEvent(1)),
      insert(buildEvent(2)),
      insert(buildEvent(3, { deliveryId: null as unknown as string })),
      insert(buildEvent(4)),
    ]);
    expect(answers.map((answer) => answer.status)).toEqual(["rejected", "rejected", "rejected", "rejected"]);
    expect(await readStoredIds()).toEqual([]);
    // The next batch is unaffected: GitHub's redelivery of the good ones is stored.
    expect(await Promise.all([insert(buildEvent(1)), insert(buildEvent(2))])).toEqual([true, true]);
    expect(await readStoredIds()).toEqual(["group-1", "group-2"]);
  });

  test("dedupe is unchanged: a redelivery and a second delivery of the same meaning, in one batch or later, are not stored again", async () => {
    const commits: number[] = [];
    const insert = createInboxBatcher(database, (count) => commits.push(count));
    const same = await Promise.all([
      insert(buildEvent(1)),
      insert(buildEvent(1)),
      insert(buildEvent(2, { dedupeKey: "issues.labeled:1" })),
      insert(buildEvent(3)),
    ]);
    expect(same).toEqual([true, false, false, true]);
    expect(await insert(buildEvent(1))).toBe(false);
    expect(await insert(buildEvent(4, { dedupeKey: "issues.labeled:3" }))).toBe(false);
    expect(await readStoredIds()).toEqual(["group-1", "group-3"]);
    expect(commits).toEqual([2, 0, 0]);
  });

  test("one batch keeps the order deliveries arrived in (a lane's order) and stores what PostgreSQL refuses as U+FFFD", async () => {
    const insert = createInboxBatcher(database, () => {});
    const lane = "issue:acme/widgets#1";
    const answers = await Promise.all([
      insert(buildEvent(3, { lane, event: { text: "nul \u0000 and lone \ud800" } })),
      insert(buildEvent(1, { lane })),
      insert(buildEvent(2, { lane })),
    ]);
    expect(answers).toEqual([true, true, true]);
    const rows = await database.sql<{ delivery_id: string; event: { text?: string } }[]>`
      select delivery_id, event from webhook_deliveries order by id`;
    expect(rows.map((row) => row.delivery_id)).toEqual(["group-3", "group-1", "group-2"]);
    expect(rows[0]!.event.text).toBe("nul \ufffd and lone \ufffd");
  });
});
