// A Foreman in a process of its own, for tests and benchmarks that kill it with SIGKILL: the real
// app on a given database, GitHub at FOREMAN_CHILD_GITHUB (the fake GitHub server), agents off
// unless FOREMAN_CHILD_AGENTS=1 (the Docker runner), FOREMAN_CHILD_ENV a JSON object of more
// environment (WORKSPACE_DIR, ...). With FOREMAN_CHILD_LISTEN=1 it serves webhooks over HTTP on
// 127.0.0.1 (PORT, default a free one) and prints "port <n>". Prints "ready" once started (after
// delivering the label webhooks of issues 1..N when FOREMAN_CHILD_DELIVER=N, N > 0), then runs
// until it is killed, or stops cleanly on SIGTERM.
import { Writable } from "node:stream";
import { openDatabase } from "../../src/db/client.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { buildIssuesPayload } from "./payloads.js";
import { buildTestEnv } from "./test-foreman.js";

const setting = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

const env = buildTestEnv({
  GHE_HOST: setting("FOREMAN_CHILD_GITHUB"),
  GHE_PROTOCOL: "http",
  REPLICA_ID: setting("FOREMAN_CHILD_REPLICA"),
  POLL_INTERVAL_MS: process.env.FOREMAN_CHILD_POLL_MS ?? "50",
  HOST: "127.0.0.1",
  PORT: "0",
  ...(JSON.parse(process.env.FOREMAN_CHILD_ENV ?? "{}") as Record<string, string>),
});
const agents = process.env.FOREMAN_CHILD_AGENTS === "1";
const listen = process.env.FOREMAN_CHILD_LISTEN === "1";
const level = process.env.FOREMAN_CHILD_LOG ?? "silent";
const log = createLogger({
  level: level === "silent" ? "fatal" : level,
  secrets: [],
  destination: level === "silent" ? new Writable({ write: (_c, _e, done) => done() }) : process.stderr,
});
// Few connections: several of these processes share one PostgreSQL server with other tests.
const database = openDatabase(setting("FOREMAN_CHILD_DATABASE"), { max: 3 });
const foreman = await buildForeman({
  env,
  database,
  log,
  octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false },
  agents: agents ? { enabled: true, heartbeatMs: 500 } : { enabled: false },
  enginePoolMax: 4,
  engine: { leaseMs: Number(setting("FOREMAN_CHILD_LEASE_MS")), retryBaseMs: 5 },
});
// The reconciliation sweep stays off: a test delivers what GitHub would, and counts every request.
await foreman.start({ listen, compliance: false, reconcile: false });
if (listen) process.stdout.write(`port ${foreman.server.port}\n`);
process.once("SIGTERM", () => {
  void foreman
    .stop()
    .then(() => database.close())
    .then(() => process.exit(0));
});
const issues = Number(process.env.FOREMAN_CHILD_DELIVER ?? "0");
for (let issueNumber = 1; issueNumber <= issues; issueNumber += 1) {
  const payload = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber });
  await foreman.probot.receive({ id: `delivery-${process.pid}-${issueNumber}`, name: "issues", payload } as never);
}
process.stdout.write("ready\n");
