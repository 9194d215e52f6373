import { beforeEach, describe, expect, test } from "vitest";
import { buildClaimStatement, claimNextInboxEvent } from "../../src/db/queries/claim-next-inbox-event.js";
import type { SqlClient } from "../../src/db/client.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// The inbox claim under a backlog (a burst of deliveries faster than the worker): it must read a
// handful of rows, not every pending one, or each claim costs the database O(backlog) and a burst
// O(backlog²) (bench/load's burst, docs/performance.md). And it still takes events in lane order,
// skipping rows another worker holds.

const database = useTestDatabase();

/** `count` inbox rows in `lanes` lanes, ids in insertion order, with a status. */
async function insertRows(sql: SqlClient, from: number, count: number, lanes: number, status: string): Promise<void> {
  await sql`
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, status)
    select 'd-' || g, 'k-' || g, 'github', 'issues.labeled', 'issue:' || (g % ${lanes}), '{}'::jsonb, ${status}
      from generate_series(${from}::int, ${from + count - 1}::int) g
     order by g`;
}

interface PlanNode {
  "Relation Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  Plans?: PlanNode[];
}

/** The rows every node reading webhook_deliveries returned, over all its loops. */
function countInboxRowsRead(node: PlanNode): number {
  const own = node["Relation Name"] === "webhook_deliveries" ? node["Actual Rows"] * node["Actual Loops"] : 0;
  return own + (node.Plans ?? []).reduce((sum, child) => sum + countInboxRowsRead(child), 0);
}

/** Run the claim under EXPLAIN ANALYZE in a transaction rolled back; the rows it read. */
async function explainClaim(): Promise<number> {
  let read = 0;
  await database.sql
    .begin(async (tx) => {
      const [row] = await tx<{ "QUERY PLAN": { Plan: PlanNode }[] }[]>`
        explain (analyze, format json) ${buildClaimStatement(tx)}`;
      read = countInboxRowsRead(row!["QUERY PLAN"][0]!.Plan);
      throw new Error("roll back");
    })
    .catch((error: Error) => {
      if (error.message !== "roll back") throw error;
    });
  return read;
}

describe("claimNextInboxEvent", () => {
  beforeEach(() => resetTables(database));

  test("with 2,000 events pending behind 2,000 done, a claim reads a handful of rows, before and after ANALYZE", async () => {
    await insertRows(database.sql, 1, 2000, 2000, "done");
    await insertRows(database.sql, 2001, 2000, 1000, "pending");
    const beforeAnalyze = await explainClaim();
    await database.sql`analyze webhook_deliveries`;
    const afterAnalyze = await explainClaim();
    // The oldest pending row is free to take: the claim reads it, its lane's check and the update's
    // row. Reading every pending row (as it did without webhook_deliveries_pending_id_idx) is 2,000+.
    expect(beforeAnalyze).toBeLessThan(10);
    expect(afterAnalyze).toBeLessThan(10);
  });

  test("a claim takes the oldest event whose lane has nothing older pending, skipping one another worker holds", async () => {
    // ids 1..6 in lanes issue:1, issue:2, issue:0, issue:1, issue:2, issue:0.
    await insertRows(database.sql, 1, 6, 3, "pending");
    await database.sql.begin(async (first) => {
      const held = await claimNextInboxEvent(first);
      expect(held?.deliveryId).toBe("d-1");
      // Another worker, while d-1 is held: not d-4 (lane issue:1, behind d-1), but d-2.
      const [second, third] = await database.sql.begin(async (other) => [
        await claimNextInboxEvent(other),
        await claimNextInboxEvent(other),
      ]);
      expect(second?.deliveryId).toBe("d-2");
      expect(third?.deliveryId).toBe("d-3");
    });
    const rest = [];
    for (let event = await claimNextInboxEvent(database.sql); event; event = await claimNextInboxEvent(database.sql))
      rest.push(event.deliveryId);
    expect(rest).toEqual(["d-4", "d-5", "d-6"]);
  });
});
