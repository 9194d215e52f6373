import { createHmac, timingSafeEqual } from "node:crypto";
import nock from "nock";
import { beforeEach, describe, expect, test } from "vitest";
import type { FileArtifactStore } from "../../src/compliance/artifacts.js";
import {
  computeHookBackoffMs,
  deliverPendingHooks,
  enqueueChangeHook,
  signHookBody,
} from "../../src/compliance/change-hook.js";
import { runComplianceTick, startCheckpointScheduler } from "../../src/compliance/checkpoint-scheduler.js";
import { buildCheckpointSchedulerOptions } from "../../src/main.js";
import {
  generateCheckpointKeyPair,
  loadCheckpointSigner,
  verifyCheckpointSignature,
} from "../../src/chain/checkpoints.js";
import { parseEnv } from "../../src/config/env.js";
import {
  createTempArtifactStore,
  MERGED_TASK,
  resetComplianceTables,
  seedTrail,
} from "../helpers/compliance-fixtures.js";
import { useTestDatabase } from "../helpers/test-database.js";

const SECRET = "change-hook-secret";
const database = useTestDatabase();
let store: FileArtifactStore;
const receiverUrl = "https://change.example.com/hooks/foreman";
let received: Array<{ headers: Headers; body: string }>;
const silent = { warn: () => {}, error: () => {} };
const keys = generateCheckpointKeyPair();
// The clock these tests control: hooks are queued, claimed and backed off on it alone (never the database's now()).
const T0 = Date.parse("2026-11-21T10:00:00.000Z");
const at = (ms: number): Date => new Date(T0 + ms);
const HOUR = 3_600_000;

beforeEach(async () => {
  await resetComplianceTables(database.sql);
  store = createTempArtifactStore();
  await seedTrail(database.sql, store);
  received = [];
});

/** A change-management system: records the raw request of each delivery and answers with the given statuses in turn. */
function mockReceiver(...statuses: number[]): void {
  for (const status of statuses) {
    nock("https://change.example.com")
      .post("/hooks/foreman")
      .reply(async (request: Request) => {
        received.push({ headers: request.headers, body: await request.text() });
        return [status];
      });
  }
}

function deliver(now: Date, config: Partial<Parameters<typeof deliverPendingHooks>[3]> = {}) {
  return deliverPendingHooks(database.sql, fetch, now, {
    changeHookUrl: receiverUrl,
    changeHookSecret: SECRET,
    artifacts: store,
    log: silent,
    ...config,
  });
}

async function hookRows(): Promise<Array<Record<string, unknown>>> {
  const rows =
    await database.sql`select kind, idempotency_key, status, attempts, last_error, next_at, delivered_at is not null as delivered from outbound_hooks order by id`;
  return rows.map((row) => ({
    ...(row as Record<string, unknown>),
    next_at: new Date(row.next_at as string).toISOString(),
  }));
}

describe("the change-management hook", () => {
  test("a finished task's evidence summary is POSTed once, signed with HMAC-SHA256 over the raw body", async () => {
    await enqueueChangeHook(database.sql, MERGED_TASK, at(0));
    await enqueueChangeHook(database.sql, MERGED_TASK, at(0)); // the engine may call it twice: one notification
    mockReceiver(200);
    expect(await deliver(at(0))).toEqual({ delivered: 1, retrying: 0, failed: 0, skipped: 0 });
    expect(received).toHaveLength(1);
    const [{ headers, body }] = received as [{ headers: Headers; body: string }];
    expect(Object.fromEntries(headers)).toMatchObject({
      "content-type": "application/json",
      "idempotency-key": MERGED_TASK,
      "x-foreman-event": "task.finished",
    });
    // What a receiver does: recompute the HMAC over the exact bytes and compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`);
    expect(timingSafeEqual(Buffer.from(headers.get("x-foreman-signature")!), expected)).toBe(true);
    const payload = JSON.parse(body);
    expect(payload).toMatchObject({
      type: "foreman.task.finished",
      taskId: MERGED_TASK,
      generatedAt: at(0).toISOString(),
    });
    expect(payload.summary).toMatchObject({
      state: "merged",
      authorised: { by: "octocat", role: "write" },
      approved: { by: "mona" },
      evidence: { records: 6, verified: true },
    });
    expect(await hookRows()).toMatchObject([
      {
        kind: "change",
        idempotency_key: MERGED_TASK,
        status: "delivered",
        attempts: 1,
        last_error: null,
        delivered: true,
      },
    ]);
    expect(await deliver(at(HOUR))).toEqual({ delivered: 0, retrying: 0, failed: 0, skipped: 0 });
  });

  test("a failed delivery is retried later with the same bytes, and gives up after the last attempt", async () => {
    await enqueueChangeHook(database.sql, MERGED_TASK, at(0));
    mockReceiver(500, 503);
    expect(await deliver(at(0))).toMatchObject({ retrying: 1 });
    expect(await hookRows()).toMatchObject([
      {
        status: "pending",
        attempts: 1,
        last_error: "the receiver answered HTTP 500",
        next_at: at(30_000).toISOString(),
      },
    ]);
    expect(await deliver(at(29_999))).toMatchObject({ retrying: 0 }); // not due yet
    expect(await deliver(at(30_000), { maxAttempts: 2 })).toMatchObject({ failed: 1 });
    expect(await hookRows()).toMatchObject([
      { status: "failed", attempts: 2, last_error: "the receiver answered HTTP 503" },
    ]);
    expect(received).toHaveLength(2);
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(received[1]!.headers.get("x-foreman-signature")).toBe(received[0]!.headers.get("x-foreman-signature"));
  });

  test("an unreachable receiver is retried; without CHANGE_HOOK_URL the notification is skipped", async () => {
    await enqueueChangeHook(database.sql, MERGED_TASK, at(0));
    nock("https://change.example.com").post("/hooks/foreman").replyWithError("connect ECONNREFUSED");
    expect(await deliver(at(0))).toMatchObject({ retrying: 1 });
    expect((await hookRows())[0]!.last_error).toBe("the receiver could not be reached (connect ECONNREFUSED)");
    expect(await deliver(at(HOUR), { changeHookUrl: undefined })).toMatchObject({ skipped: 1 });
    expect(await hookRows()).toMatchObject([{ status: "skipped", last_error: "CHANGE_HOOK_URL is not set" }]);
  });

  test("the signature is the hex HMAC-SHA256 of the body with the secret (a known answer)", () => {
    expect(signHookBody('{"a":1}', "secret")).toBe(
      `sha256=${createHmac("sha256", "secret").update('{"a":1}').digest("hex")}`,
    );
    expect(signHookBody("", "key")).toBe("sha256=5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
  });

  test("a hook for an unknown task fails at once, saying so", async () => {
    await enqueueChangeHook(database.sql, "00000000-0000-4000-8000-00000000ffff", at(0));
    expect(await deliver(at(0))).toMatchObject({ failed: 1 });
    expect((await hookRows())[0]!.last_error).toBe("task 00000000-0000-4000-8000-00000000ffff does not exist");
  });

  test("backoff doubles from 30 s up to an hour", () => {
    expect([1, 2, 3, 8, 30].map(computeHookBackoffMs)).toEqual([30_000, 60_000, 120_000, 3_600_000, 3_600_000]);
  });
});

describe("the compliance scheduler", () => {
  const env = parseEnv({
    CHECKPOINT_SIGNING_KEY: keys.privateKeyPem,
    CHECKPOINT_PUBLISH_URL: "https://transparency.example.com/checkpoints",
    CHANGE_HOOK_URL: "https://change.example.com/hooks",
    CHANGE_HOOK_SECRET: SECRET,
    CHECKPOINT_EVERY_RECORDS: "5",
  });

  test("a round signs the head when due, publishes it, and delivers due hooks; nothing more when the head has not moved", async () => {
    const published: Array<Record<string, unknown>> = [];
    nock("https://transparency.example.com")
      .post("/checkpoints", (body) => published.push(body) > 0)
      .matchHeader("idempotency-key", "checkpoint:8")
      .reply(201);
    nock("https://change.example.com").post("/hooks").matchHeader("idempotency-key", MERGED_TASK).reply(200);
    await enqueueChangeHook(database.sql, MERGED_TASK, at(0));
    const options = { ...buildCheckpointSchedulerOptions(env, database.sql, silent), now: () => at(0) };
    const first = await runComplianceTick(options);
    expect(first.checkpoint).toMatchObject({ seq: 8, time: at(0).toISOString() });
    expect(first.hooks).toEqual({ delivered: 2, retrying: 0, failed: 0, skipped: 0 });
    expect(published[0]).toMatchObject({
      type: "foreman.checkpoint",
      seq: 8,
      keyId: loadCheckpointSigner(keys.privateKeyPem).keyId,
    });
    expect(verifyCheckpointSignature(published[0] as never, loadCheckpointSigner(keys.privateKeyPem).publicKey)).toBe(
      true,
    );
    expect(await runComplianceTick(options)).toEqual({
      checkpoint: null,
      hooks: { delivered: 0, retrying: 0, failed: 0, skipped: 0 },
    });
  });

  test("start runs a round at once; stop waits for it; a failing round is logged, not thrown", async () => {
    const errors: unknown[] = [];
    const log = { warn: () => {}, error: (data: unknown) => errors.push(data) };
    const options = {
      ...buildCheckpointSchedulerOptions(parseEnv({ CHECKPOINT_SIGNING_KEY: keys.privateKeyPem }), database.sql, log),
      intervalMs: 60_000,
    };
    const stop = startCheckpointScheduler(options);
    await stop();
    expect((await database.sql`select count(*)::int as n from compliance_checkpoints`)[0]!.n).toBe(1);

    const broken = startCheckpointScheduler({
      ...options,
      sql: { begin: () => Promise.reject(new Error("database down")) } as never,
    });
    await broken();
    expect(errors).toHaveLength(1);
  });
});
