import { describe, expect, test } from "vitest";
import { verifyChain, type ChainRecord } from "../../src/chain/chain.js";
import { openDatabase } from "../../src/db/client.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import { useTestDatabase } from "../helpers/test-database.js";

const database = useTestDatabase();

async function readChain(): Promise<ChainRecord[]> {
  const rows =
    await database.sql`select seq::int, task_id as "taskId", kind, actor, payload, prev_hash as "prevHash", hash, created_at as "createdAt" from compliance_records order by seq`;
  return rows.map((row) => ({
    ...row,
    createdAt: new Date(row.createdAt as string).toISOString(),
  })) as unknown as ChainRecord[];
}

describe("compliance_records in PostgreSQL", () => {
  test("concurrent appends from several workers (separate pools, like replicas) keep one unbroken chain", async () => {
    const pools = [
      openDatabase(database.url, { max: 4 }),
      openDatabase(database.url, { max: 4 }),
      openDatabase(database.url, { max: 4 }),
    ];
    await Promise.all(
      pools.flatMap((pool, worker) =>
        Array.from({ length: 20 }, (_, index) =>
          pool.sql.begin((tx) =>
            appendComplianceRecords(tx, [
              {
                taskId: null,
                kind: "test.append",
                actor: `worker-${worker}`,
                payload: { index, worker },
                createdAt: new Date(),
              },
              {
                taskId: null,
                kind: "test.append",
                actor: `worker-${worker}`,
                payload: { index, worker, second: true },
                createdAt: new Date(),
              },
            ]),
          ),
        ),
      ),
    );
    await Promise.all(pools.map((pool) => pool.close()));
    const chain = await readChain();
    expect(chain).toHaveLength(120);
    expect(verifyChain(chain)).toMatchObject({ ok: true, count: 120 });
  });

  test.each([
    ["UPDATE", "update compliance_records set actor = 'mallory' where seq = 1"],
    ["DELETE", "delete from compliance_records where seq = 1"],
    ["TRUNCATE", "truncate compliance_records"],
  ])("the database refuses %s", async (operation, statement) => {
    await expect(database.sql.unsafe(statement)).rejects.toThrow(
      `compliance_records is append-only: ${operation} is not allowed`,
    );
    expect(verifyChain(await readChain())).toMatchObject({ ok: true });
  });
});
