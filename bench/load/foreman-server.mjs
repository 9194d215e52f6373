// Foreman in a process of its own for bench/load/run.ts: the real app (Probot server listening on a
// free port, worker, compliance off, agents off) on FOREMAN_LOAD_DATABASE, with GitHub at
// FOREMAN_LOAD_GITHUB (the fake GitHub server, over HTTP). Production's poll interval, worker
// concurrency and display delay; no write pacing and no HTTP retries or throttling, so 1,000 tasks
// settle. FOREMAN_LOAD_APP is the app's folder as a file URL: src/ (run through tsx) or a compiled
// dist/ (plain node): plain JavaScript, so it runs both ways and compares the two. Prints
// "port <n>" once it listens, then runs until killed.
import { generateKeyPairSync } from "node:crypto";
import process from "node:process";
import { Writable } from "node:stream";
import { URL } from "node:url";

const setting = (name) => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const app = setting("FOREMAN_LOAD_APP");
const load = (path) => import(new URL(path, app).href);
const [{ parseEnv }, { openDatabase }, { createLogger }, { buildForeman }] = await Promise.all([
  load("config/env.js"),
  load("db/client.js"),
  load("logging/create-logger.js"),
  load("main.js"),
]);

const env = parseEnv({
  APP_ID: "12345",
  PRIVATE_KEY: generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString(),
  WEBHOOK_SECRET: setting("FOREMAN_LOAD_SECRET"),
  LOG_LEVEL: "silent",
  GITHUB_WRITES_PER_HOUR: "0",
  PORT: "0",
  HOST: "127.0.0.1",
  GHE_HOST: setting("FOREMAN_LOAD_GITHUB"),
  GHE_PROTOCOL: "http",
  REPLICA_ID: "foreman-load",
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
