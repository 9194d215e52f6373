import postgres from "postgres";
import { beforeEach, describe, expect, test } from "vitest";
import { deliverPendingHooks } from "../../src/compliance/change-hook.js";
import { claimDueOutboundHooks } from "../../src/db/queries/claim-due-outbound-hooks.js";
import { insertOutboundHook } from "../../src/db/queries/insert-outbound-hook.js";
import { takeReplicaLock } from "../../src/db/queries/take-replica-lock.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// An outbound hook (change hook, checkpoint publication) leased by a replica that died mid-delivery
// is delivered by the next live replica's round at once: not when its lease on `next_at` (five
// minutes on the injected clock) runs out. Every call below passes the same `now`, so only the
// liveness check can free a lease.

const database = useTestDatabase();
const NOW = new Date("2030-01-01T12:00:00.000Z");
const LEASE_UNTIL = new Date(NOW.getTime() + 5 * 60_000).toISOString();
const PUBLISH_URL = "http://checkpoints.invalid/publish";

beforeEach(async () => {
  await resetTables(database);
  await database.sql`truncate replicas, outbound_hooks`;
  await insertOutboundHook(database.sql, {
    kind: "checkpoint",
    idempotencyKey: "checkpoint:1",
    taskId: null,
    body: '{"seq":1}',
    nextAt: NOW,
  });
});

/** A replica process as PostgreSQL sees it: a session holding its liveness lock. Ending it is the process dying. */
async function startReplicaSession(name: string): Promise<{ die(): Promise<void> }> {
  const session = postgres(database.url, { max: 1, onnotice: () => {} });
  expect(await takeReplicaLock(session, name)).toBe(true);
  return { die: () => session.end({ timeout: 0 }) };
}

/** The replica `name` mid-delivery: it leased the hook and never finished it. */
async function leaseHookTo(name: string): Promise<void> {
  const claimed = await claimDueOutboundHooks(database.sql, NOW.toISOString(), LEASE_UNTIL, 20, ["checkpoint"], {
    replica: name,
  });
  expect(claimed.map((hook) => hook.idempotencyKey)).toEqual(["checkpoint:1"]);
}

/** One delivery round of replica `name`, with a receiver that accepts everything; returns the keys POSTed. */
async function deliverAs(name: string, restarted: string | null = null): Promise<string[]> {
  const posted: string[] = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    posted.push(String((init.headers as Record<string, string>)["idempotency-key"]));
    return new Response(null, { status: 200 });
  }) as unknown as typeof fetch;
  await deliverPendingHooks(database.sql, fetchFn, NOW, {
    checkpointPublishUrl: PUBLISH_URL,
    claimer: { replica: name, restarted },
  });
  return posted;
}

async function readHook() {
  const [row] = await database.sql<{ status: string; attempts: number; locked_by: string | null }[]>`
    select status, attempts, locked_by from outbound_hooks`;
  return row;
}

describe("outbound hook leases of dead replicas", () => {
  test("a live owner keeps its lease; once its session ends, another replica delivers the hook at once", async () => {
    const a = await startReplicaSession("replica-a");
    const b = await startReplicaSession("replica-b");
    await leaseHookTo("replica-a");
    expect(await readHook()).toEqual({ status: "pending", attempts: 1, locked_by: "replica-a" });

    expect(await deliverAs("replica-b")).toEqual([]);
    await a.die();
    expect(await deliverAs("replica-b")).toEqual(["checkpoint:1"]);
    expect(await readHook()).toEqual({ status: "delivered", attempts: 2, locked_by: null });
    await b.die();
  });

  test("a process restarted under the same name takes its predecessor's lease in its first round", async () => {
    const first = await startReplicaSession("foreman-1");
    await leaseHookTo("foreman-1");
    await first.die();
    const restarted = await startReplicaSession("foreman-1");
    // A later round (not restarted) sees the name alive and leaves the lease alone.
    expect(await deliverAs("foreman-1")).toEqual([]);
    expect(await deliverAs("foreman-1", "foreman-1")).toEqual(["checkpoint:1"]);
    expect(await readHook()).toEqual({ status: "delivered", attempts: 2, locked_by: null });
    await restarted.die();
  });

  test("an owner that never announced its liveness keeps the lease until next_at", async () => {
    await leaseHookTo("replica-of-an-older-version");
    expect(await deliverAs("replica-b")).toEqual([]);
    expect(await readHook()).toEqual({ status: "pending", attempts: 1, locked_by: "replica-of-an-older-version" });
  });
});
