// Diagnostic: what one statement of each shape costs here (npx tsx bench/lib/query-costs.ts).
import { sql } from "drizzle-orm";
import { openBenchDatabase } from "./bench-database.js";
import { findTaskForUpdate } from "../../src/db/queries/find-task-for-update.js";
import { claimNextEffect } from "../../src/db/queries/claim-next-effect.js";
import { hasReadyInboxEvent } from "../../src/db/queries/has-ready-inbox-event.js";

const bench = await openBenchDatabase();
const { db, sql: raw } = bench.database;
async function time(name: string, run: () => Promise<unknown>, n = 300) {
  for (let i = 0; i < 20; i += 1) await run();
  const t = performance.now();
  for (let i = 0; i < n; i += 1) await run();
  console.log(`${name.padEnd(40)} ${((performance.now() - t) / n).toFixed(3)} ms`);
}
await time("select 1 (drizzle execute)", () => db.execute(sql`select 1`));
await time("select 1 (postgres.js)", () => bench.database.sql`select 1`);
await time("probe inbox", () => hasReadyInboxEvent(raw));
await time("claim effect (empty)", () => claimNextEffect(raw, "w", 1000));
await time("find task for update (tx)", () =>
  raw.begin((tx) => findTaskForUpdate(tx, { by: "id", taskId: "00000000-0000-4000-8000-000000000001" })),
);
await time("empty tx", () => db.transaction(async () => {}));
await bench.close();
process.exit(0);
