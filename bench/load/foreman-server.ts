// Foreman in a process of its own for bench/load/run.ts: the real app (Probot server listening on a
// free port, worker, compliance off, agents off) on FOREMAN_LOAD_DATABASE, with GitHub at
// FOREMAN_LOAD_GITHUB (the fake GitHub server, over HTTP). Production's poll interval, worker
// concurrency and display delay. Prints "port <n>" once it listens, then runs until killed.
import { Writable } from "node:stream";
import { openDatabase } from "../../src/db/client.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { buildTestEnv } from "../../test/helpers/test-foreman.js";

const setting = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const env = buildTestEnv({
  PORT: "0",
  HOST: "127.0.0.1",
  GHE_HOST: setting("FOREMAN_LOAD_GITHUB"),
  GHE_PROTOCOL: "http",
  REPLICA_ID: "foreman-load",
  // Production's defaults, not the tests' fast ones.
  POLL_INTERVAL_MS: undefined,
  WORKER_CONCURRENCY: undefined,
  DISPLAY_DELAY_MS: undefined,
  EFFECT_MAX_ATTEMPTS: undefined,
});
const log = createLogger({
  level: "fatal",
  secrets: [],
  destination: new Writable({ write: (_c, _e, done) => done() }),
});
const database = openDatabase(setting("FOREMAN_LOAD_DATABASE"));
const foreman = await buildForeman({
  env,
  database,
  log,
  octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false },
  agents: { enabled: false },
});
await foreman.start({ compliance: false });
process.stdout.write(`port ${foreman.server.port}\n`);
