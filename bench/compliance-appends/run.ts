// Compliance appends per second with one and with three replicas on one PostgreSQL. Every append
// takes the chain's one global advisory lock (`appendComplianceRecords`,
// src/db/queries/append-compliance-record.ts) until its transaction commits, so appends from all
// replicas take turns. This measures whether that lock is the ceiling.
//
// Each replica is a separate node process (`run.ts append-worker`) with its own pool of
// BENCH_CONNECTIONS (4) connections, each connection appending one record per transaction in a
// loop for BENCH_SECONDS (10) after a common start time. Per transaction it times the wait for the
// lock (the lock taken first, alone; the append then takes it again, which a holder gets at once)
// and the time it held it (the append and the commit). Then the same inserts (same rows, same
// hashing) without the lock, into a copy of the table whose `seq` comes from a sequence: what the
// inserts cost when nothing serialises them. Transactions commit as the engine's do
// (`synchronous_commit = off`, docs/adr/0003); BENCH_SYNC_COMMIT=1 waits for the WAL flush.
//
// Run: npm run bench:appends   (DATABASE_URL to use a server, else embedded PostgreSQL)
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { GENESIS_HASH, computeRecordHash } from "../../src/chain/chain.js";
import { openDatabase } from "../../src/db/client.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import { openBenchDatabase } from "../lib/bench-database.js";
import { fmt } from "../lib/stats.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const SYNC_COMMIT = process.env.BENCH_SYNC_COMMIT === "1";
// The lock's key, as in append-compliance-record.ts.
const CHAIN_LOCK_KEY = 7_340_012;
// What Foreman needs: the whole loop writes some tens of records per task; 100 a second is
// thousands of tasks an hour, far beyond what the job limits let through.
const TARGET_PER_SECOND = 100;
const SCRIPT = fileURLToPath(import.meta.url);

type Mode = "lock" | "nolock";

/** What one replica process measured. */
interface WorkerResult {
  appends: number;
  waitMs: number;
  heldMs: number;
  totalMs: number;
}

/** A record like the engine's: a task, a kind, an actor, a small payload. */
function buildRecord() {
  return {
    taskId: randomUUID(),
    kind: "effect.executed",
    actor: "foreman",
    payload: { effect: "create_check_run", attempt: 1, url: "https://github.com/o/r/runs/1" },
    createdAt: new Date(),
  };
}

/** One append through Foreman's query, timing the lock wait apart from the time inside it. */
async function appendWithLock(sql: ReturnType<typeof openDatabase>["sql"], result: WorkerResult) {
  const started = performance.now();
  let locked = started;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`;
    locked = performance.now();
    await appendComplianceRecords(tx, [buildRecord()]);
  });
  const done = performance.now();
  result.waitMs += locked - started;
  result.heldMs += done - locked;
  result.totalMs += done - started;
  result.appends += 1;
}

/** The same insert and hashing with no lock: `seq` from a sequence, into `bench_appends`. */
async function appendWithoutLock(sql: ReturnType<typeof openDatabase>["sql"], result: WorkerResult) {
  const started = performance.now();
  await sql.begin(async (tx) => {
    const [last] = await tx<{ hash: string }[]>`select hash from bench_appends order by seq desc limit 1`;
    const record = buildRecord();
    const body = { seq: 0, ...record, createdAt: record.createdAt.toISOString() };
    const hash = computeRecordHash(last?.hash ?? GENESIS_HASH, body);
    await tx`insert into bench_appends (seq, task_id, kind, actor, payload, prev_hash, hash, created_at)
             values (nextval('bench_appends_seq'), ${record.taskId}, ${record.kind}, ${record.actor},
                     ${JSON.stringify(record.payload)}, ${last?.hash ?? GENESIS_HASH}, ${hash}, ${body.createdAt})`;
  });
  const done = performance.now();
  result.totalMs += done - started;
  result.appends += 1;
}

/** The child: CONNECTIONS loops on one pool until the common end time; prints its result as JSON. */
async function runWorker(url: string, mode: Mode, startAt: number): Promise<void> {
  const database = openDatabase(url, { max: CONNECTIONS, asyncCommit: !SYNC_COMMIT });
  await database.sql`select 1`;
  const result: WorkerResult = { appends: 0, waitMs: 0, heldMs: 0, totalMs: 0 };
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startAt - Date.now())));
  const endAt = startAt + SECONDS * 1000;
  const append = mode === "lock" ? appendWithLock : appendWithoutLock;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < endAt) await append(database.sql, result);
    }),
  );
  await database.close();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Start `replicas` worker processes on `url` and sum what they measured. */
async function runReplicas(url: string, mode: Mode, replicas: number): Promise<WorkerResult> {
  // Time for node and tsx to start in every child before the common start.
  const startAt = Date.now() + 8000;
  const outputs = await Promise.all(
    Array.from(
      { length: replicas },
      () =>
        new Promise<WorkerResult>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ["--import", "tsx", SCRIPT, "append-worker", url, mode, String(startAt)],
            {
              stdio: ["ignore", "pipe", "inherit"],
            },
          );
          let out = "";
          child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
          child.on("exit", (code) =>
            code === 0 ? resolve(JSON.parse(out.trim()) as WorkerResult) : reject(new Error(`worker exit ${code}`)),
          );
        }),
    ),
  );
  return outputs.reduce((sum, one) => ({
    appends: sum.appends + one.appends,
    waitMs: sum.waitMs + one.waitMs,
    heldMs: sum.heldMs + one.heldMs,
    totalMs: sum.totalMs + one.totalMs,
  }));
}

/** Print one row: appends a second, the lock's wait share and how busy the lock was. */
function printRow(label: string, result: WorkerResult): number {
  const perSecond = result.appends / SECONDS;
  const waitShare = result.totalMs > 0 ? result.waitMs / result.totalMs : 0;
  const busy = result.heldMs / (SECONDS * 1000);
  const heldEach = result.appends > 0 ? result.heldMs / result.appends : 0;
  console.log(
    `| ${label} | ${fmt(perSecond)} | ${result.heldMs > 0 ? `${fmt(waitShare * 100)} %` : "-"} | ${
      result.heldMs > 0 ? `${fmt(busy * 100)} %` : "-"
    } | ${result.heldMs > 0 ? `${heldEach.toFixed(2)} ms` : "-"} |`,
  );
  return perSecond;
}

/** The parent: a fresh database, then 1 and 3 replicas with the lock, then 3 without it. */
async function main(): Promise<void> {
  const bench = await openBenchDatabase();
  const url = bench.database.url;
  await bench.database.sql.unsafe(
    "create table bench_appends (like compliance_records including defaults including indexes); create sequence bench_appends_seq",
  );
  console.log(
    `compliance appends: ${SECONDS} s per run, ${CONNECTIONS} connections per replica process, ` +
      `${SYNC_COMMIT ? "synchronous" : "asynchronous (the engine's)"} commit, ${bench.where}`,
  );
  console.log("| run | appends/s | lock wait share | lock busy | held per append |");
  console.log("|---|---:|---:|---:|---:|");
  const one = printRow("1 replica, with the chain lock", await runReplicas(url, "lock", 1));
  const three = printRow("3 replicas, with the chain lock", await runReplicas(url, "lock", 3));
  const free = printRow("3 replicas, same inserts, no lock", await runReplicas(url, "nolock", 3));
  const [row] = await bench.database.sql<{ count: string }[]>`select count(*) from compliance_records`;
  console.log(`chain length after the runs: ${row?.count}`);
  console.log(
    `target: ${TARGET_PER_SECOND} appends/s with 3 replicas: ${three >= TARGET_PER_SECOND ? "met" : "NOT met"} (${fmt(three)})`,
  );
  console.log(
    `3 replicas / 1 replica: ${fmt(three / one)}x; without the lock / with it (3 replicas): ${fmt(free / three)}x`,
  );
  console.log(
    free > three * 1.3
      ? "the lock is the ceiling: the same inserts without it go faster, and the lock is busy most of the time"
      : "the lock is not the ceiling here: the same inserts without it go no faster (the machine or the commit is)",
  );
  await bench.close();
}

if (process.argv[2] === "append-worker") {
  await runWorker(process.argv[3]!, process.argv[4] as Mode, Number(process.argv[5]));
} else {
  await main();
}
