// Diagnostic: time each engine step of one label → draft PR, driving the engine by hand.
import { Writable } from "node:stream";
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
for (const issue of Array.from({ length: Number(process.env.N ?? 4) }, (_, i) => i + 1)) {
  const steps: string[] = [];
  let t = performance.now();
  const mark = (name: string) => {
    const now = performance.now();
    steps.push(`${name} ${(now - t).toFixed(1)}`);
    t = now;
  };
  await foreman.probot.receive({
    id: `s-${issue}`,
    name: "issues",
    payload: buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: issue }),
  } as never);
  mark("receive");
  for (let i = 0; i < 12; i += 1) {
    if (await processNextEvent(foreman.deps)) mark("event");
    if (await runNextEffect(foreman.deps)) mark("effect");
  }
  console.log(steps.join(" | "));
}
await bench.close();
process.exit(0);
