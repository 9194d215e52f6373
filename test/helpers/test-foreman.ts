import { generateKeyPairSync } from "node:crypto";
import { Writable } from "node:stream";
import { parseEnv, type Env } from "../../src/config/env.js";
import type { Database } from "../../src/db/client.js";
import type { OctokitTuning } from "../../src/github/octokit.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman, type Foreman } from "../../src/main.js";

/** A real RSA key, so Probot signs real app JWTs against the simulated GitHub. */
export const TEST_PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();

/** The webhook secret of the test app. */
export const TEST_WEBHOOK_SECRET = "test-webhook-secret";

/** A parsed environment for tests, with overrides. */
export function buildTestEnv(overrides: Record<string, string | undefined> = {}): Env {
  return parseEnv({
    APP_ID: "12345",
    PRIVATE_KEY: TEST_PRIVATE_KEY,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    WORKER_CONCURRENCY: "4",
    POLL_INTERVAL_MS: "50",
    EFFECT_MAX_ATTEMPTS: "3",
    // Redraws at once, so a test settles without waiting out the display delay.
    DISPLAY_DELAY_MS: "0",
    // Pacing is tested on its own (test/integration/write-pacing.test.ts); elsewhere writes go at once.
    GITHUB_WRITES_PER_HOUR: "0",
    ...overrides,
  });
}

/** A running Foreman for a test: deliver webhooks, wait for the worker to settle, stop. */
export interface TestForeman extends Foreman {
  receive(name: string, payload: Record<string, any>, id?: string): Promise<void>;
  settle(): Promise<void>;
  stop(): Promise<void>;
  logs: string[];
}

let deliveries = 0;

/** Task ids 00000000-0000-4000-8000-000000000001, …002, … so snapshots are stable. */
export function buildSequentialIds(): () => string {
  let next = 0;
  return () => `00000000-0000-4000-8000-${String(++next).padStart(12, "0")}`;
}

/** Compose the real app over a test database, with HTTP retries off unless `octokitTuning` says otherwise (nock answers instantly) and fast durable retries. */
export async function startTestForeman(
  database: Database,
  options: { env?: Env; leaseMs?: number; agents?: boolean; octokitTuning?: OctokitTuning } = {},
): Promise<TestForeman> {
  const env = options.env ?? buildTestEnv();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString("utf8"));
      callback();
    },
  });
  const log = createLogger({
    level: env.LOG_LEVEL === "silent" ? "info" : env.LOG_LEVEL,
    secrets: [TEST_WEBHOOK_SECRET],
    destination: sink,
  });
  const foreman = await buildForeman({
    env,
    database,
    log,
    octokitTuning: options.octokitTuning ?? { retries: 0, retryAfterBaseValue: 1, throttle: false },
    worker: { listen: false },
    agents: { enabled: options.agents ?? false, heartbeatMs: 200 },
    engine: { retryBaseMs: 5, newId: buildSequentialIds(), ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}) },
  });
  // The test drives HTTP and the compliance scheduler itself when it needs them.
  await foreman.start({ listen: false, compliance: false });
  return {
    ...foreman,
    logs,
    async receive(name, payload, id) {
      deliveries += 1;
      await foreman.probot.receive({ id: id ?? `delivery-${process.pid}-${deliveries}`, name, payload } as never);
    },
    // Events, effects and agent jobs feed each other: settle when a full round finds nothing new.
    async settle() {
      for (let round = 0; round < 20; round += 1) {
        await foreman.worker.whenIdle();
        if (!foreman.jobs) return;
        const before = await countOpenWork(database);
        await foreman.jobs.whenIdle();
        await foreman.worker.whenIdle();
        if ((await countOpenWork(database)) === 0 && before === 0) return;
      }
    },
    stop: () => foreman.stop(),
  };
}

async function countOpenWork(database: Database): Promise<number> {
  const [row] = await database.sql`
    select (select count(*) from agent_jobs where status in ('queued', 'running') and available_at <= now())
         + (select count(*) from effects where status in ('pending', 'running') and available_at <= now())
         + (select count(*) from webhook_deliveries where status = 'pending' and available_at <= now()) as open`;
  return Number(row?.open ?? 0);
}
