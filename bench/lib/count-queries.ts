// Diagnostic: queries and wall time per engine step (npx tsx bench/lib/count-queries.ts).
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { Writable } from "node:stream";
import * as schema from "../../src/db/schema.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { processNextEvent } from "../../src/engine/process-next-event.js";
import { runNextEffect } from "../../src/engine/run-next-effect.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { buildTestEnv } from "../../test/helpers/test-foreman.js";
import { openBenchDatabase } from "./bench-database.js";
import { createFakeGitHub } from "./fake-github.js";

const bench = await openBenchDatabase();
const github = createFakeGitHub("Codertocat", "Hello-World");
const log = createLogger({ level: "warn", secrets: [], destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const foreman = await buildForeman({
  env: buildTestEnv(),
  database: bench.database,
  log,
  octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false, fetch: github.fetch as typeof fetch },
  worker: { listen: false },
});
let queries: string[] = [];
const traced = postgres(bench.database.url, {
  max: 4,
  connection: { synchronous_commit: "off" },
  debug: (_c: number, q: string) => queries.push(q.replace(/\s+/g, " ").trim().slice(0, 60)),
});
foreman.deps.database = {
  db: drizzle(traced, { schema }),
  sql: traced,
  url: bench.database.url,
  close: () => traced.end(),
};
for (let issue = 1; issue <= Number(process.env.N ?? 6); issue += 1) {
  const out: string[] = [];
  await foreman.probot.receive({
    id: `c-${issue}`,
    name: "issues",
    payload: buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: issue }),
  } as never);
  for (let i = 0; i < 12; i += 1) {
    for (const [name, step] of [
      ["event", processNextEvent],
      ["effect", runNextEffect],
    ] as const) {
      queries = [];
      const t = performance.now();
      const did = await step(foreman.deps);
      const ms = performance.now() - t;
      if (did || process.env.ALL) out.push(`${name}${did ? "" : "(empty)"} ${queries.length}q ${ms.toFixed(1)}ms`);
      if (did && process.env.SHOW && issue === 3) console.log(name, queries.join(" ; "));
    }
  }
  console.log(out.join(" | "));
}
await traced.end();
await bench.close();
process.exit(0);
