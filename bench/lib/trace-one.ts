// Diagnostic: the timeline of one label → draft PR, request by request (npx tsx bench/lib/trace-one.ts).
import { Writable } from "node:stream";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildForeman } from "../../src/main.js";
import { buildIssuesPayload } from "../../test/helpers/payloads.js";
import { buildTestEnv } from "../../test/helpers/test-foreman.js";
import { openBenchDatabase } from "./bench-database.js";
import { createFakeGitHub } from "./fake-github.js";

const bench = await openBenchDatabase();
const github = createFakeGitHub("Codertocat", "Hello-World");
const lines: string[] = [];
const log = createLogger({
  level: "debug",
  secrets: [],
  destination: new Writable({
    write: (chunk, _e, cb) => {
      lines.push(`${performance.now().toFixed(1)} ${JSON.parse(String(chunk)).msg}`);
      cb();
    },
  }),
});
const foreman = await buildForeman({
  env: buildTestEnv({ WORKER_CONCURRENCY: process.env.CONC ?? "8" }),
  database: bench.database,
  log,
  octokitTuning: { retries: 0, retryAfterBaseValue: 1, throttle: false, fetch: github.fetch as typeof fetch },
  worker: { listen: false },
});
await foreman.start({ listen: false, compliance: false });
for (const issue of [1, 2, 3]) {
  lines.length = 0;
  const start = performance.now();
  github.requests.length = 0;
  await foreman.probot.receive({
    id: `t-${issue}`,
    name: "issues",
    payload: buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: issue }),
  } as never);
  await foreman.worker.whenIdle();
  console.log(`--- issue ${issue}`);
  for (const request of github.requests)
    console.log(`${(request.at - start).toFixed(1).padStart(7)} ms  ${request.method} ${request.path}`);
  for (const line of lines)
    console.log(
      `         ${(Number(line.split(" ")[0]) - start).toFixed(1)} log: ${line.split(" ").slice(1).join(" ")}`,
    );
}
await foreman.stop();
await bench.close();
process.exit(0);
