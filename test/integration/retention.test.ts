import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { beforeEach, describe, expect, test } from "vitest";
import { storeRedactedArtifact, type FileArtifactStore } from "../../src/compliance/artifacts.js";
import { runVerifyCommand } from "../../src/cli/verify.js";
import { parseEnv } from "../../src/config/env.js";
import type { Database } from "../../src/db/client.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import { isRepoRed } from "../../src/db/queries/is-repo-red.js";
import { createJobLogRoute } from "../../src/http/job-log-route.js";
import { pruneExpiredData } from "../../src/engine/retention/prune-expired-data.js";
import {
  createTempArtifactStore,
  insertTask,
  MERGED_TASK,
  resetComplianceTables,
  seedTrail,
} from "../helpers/compliance-fixtures.js";
import { useTestDatabase } from "../helpers/test-database.js";

const database = useTestDatabase();
const LIVE_TASK = "00000000-0000-4000-8000-0000000000c3";
const OLD_JOB = "00000000-0000-4000-8000-000000000d01";
const YOUNG_JOB = "00000000-0000-4000-8000-000000000d02";
const LIVE_JOB = "00000000-0000-4000-8000-000000000d03";
const UNRECORDED_JOB = "00000000-0000-4000-8000-000000000d04";
const silent = { info: () => undefined, debug: () => undefined };
let store: FileArtifactStore;

beforeEach(async () => {
  await resetComplianceTables(database.sql);
  await database.sql`truncate webhook_deliveries, agent_job_log_lines, ci_results, api_idempotency_keys`;
  store = createTempArtifactStore();
  await seedTrail(database.sql, store);
  await insertTask(database.sql, LIVE_TASK, "running", 9);
  const sql = database.sql;
  // Ages are offsets from the database's clock, which decides on them.
  await sql`
    insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, status, received_at, processed_at) values
      ('old-done', 'k-old-done', 'github', 'issues', 'l', '{}', 'done', now() - interval '40 days', now() - interval '40 days'),
      ('old-failed', 'k-old-failed', 'github', 'issues', 'l', '{}', 'failed', now() - interval '40 days', now() - interval '40 days'),
      ('young-done', 'k-young-done', 'github', 'issues', 'l', '{}', 'done', now() - interval '2 days', now() - interval '2 days'),
      ('old-pending', 'k-old-pending', 'github', 'issues', 'l', '{}', 'pending', now() - interval '40 days', null)`;
  await sql`
    insert into effects (task_id, kind, payload, status, created_at, done_at) values
      (${MERGED_TASK}, 'old-done', '{}', 'done', now() - interval '40 days', now() - interval '40 days'),
      (${MERGED_TASK}, 'young-done', '{}', 'done', now() - interval '2 days', now() - interval '2 days'),
      (${MERGED_TASK}, 'old-pending', '{}', 'pending', now() - interval '40 days', null),
      (${LIVE_TASK}, 'live-old-done', '{}', 'done', now() - interval '40 days', now() - interval '40 days')`;
  await sql`
    insert into outbound_hooks (kind, idempotency_key, task_id, status, next_at, created_at, delivered_at) values
      ('change', ${MERGED_TASK}, ${MERGED_TASK}, 'delivered', now() - interval '40 days', now() - interval '40 days', now() - interval '40 days'),
      ('checkpoint', 'checkpoint:1', null, 'delivered', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days'),
      ('summary_webhook', 'summary:10:old-pending', null, 'pending', now() - interval '40 days', now() - interval '40 days', null),
      ('summary_email', 'summary:10:old-failed', null, 'failed', now() - interval '40 days', now() - interval '40 days', null)`;
  // Red mode reads the latest default-branch suite of each app; the evidence bundle a task's suites.
  await sql`
    insert into ci_results (repo_id, task_id, suite_id, head_sha, head_branch, app, conclusion, on_default_branch, created_at) values
      (10, null, 1, 'a1', 'main', 'github-actions', 'failure', true, now() - interval '40 days'),
      (10, null, 2, 'a2', 'main', 'github-actions', 'success', true, now() - interval '40 days'),
      (10, null, 3, 'a3', 'main', 'circleci', 'failure', true, now() - interval '40 days'),
      (10, null, 4, 'a4', 'feature', 'github-actions', 'failure', false, now() - interval '40 days'),
      (10, ${MERGED_TASK}, 5, 'a5', 'agent/7-fix', 'github-actions', 'failure', false, now() - interval '40 days'),
      (10, null, 6, 'a6', 'feature', 'github-actions', 'failure', false, now() - interval '2 days')`;
  await sql`
    insert into api_idempotency_keys (token_id, key, request_sha256, task_id, created_at) values
      (${LIVE_TASK}, 'old', 'sha', null, now() - interval '40 days'),
      (${LIVE_TASK}, 'expired-young', 'sha', null, now() - interval '2 days'),
      (${LIVE_TASK}, 'fresh', 'sha', null, now())`;
  const job = (id: string, task: string, status: string, age: string) => sql`
    insert into agent_jobs (id, task_id, role, profile, status, base_sha, log, log_token, finished_at)
    values (${id}, ${task}, 'coder', 'script', ${status}, ${"b".repeat(40)}, ${`log of ${id}\n`}, ${`token-${id}`},
      ${status === "running" ? null : sql`now() - ${age}::interval`})`;
  await job(OLD_JOB, MERGED_TASK, "succeeded", "40 days");
  await job(YOUNG_JOB, MERGED_TASK, "succeeded", "2 days");
  await job(LIVE_JOB, LIVE_TASK, "running", "0 days");
  await job(UNRECORDED_JOB, MERGED_TASK, "failed", "40 days");
  for (const id of [OLD_JOB, YOUNG_JOB, LIVE_JOB, UNRECORDED_JOB])
    await sql`insert into agent_job_log_lines (job_id, attempt, entry) values (${id}, 1, 'a'), (${id}, 1, 'b')`;
  for (const id of [OLD_JOB, YOUNG_JOB]) {
    const log = await storeRedactedArtifact(store, sql, `log of ${id}\n`, "agent-log", []);
    await appendComplianceRecords(sql, [
      {
        taskId: MERGED_TASK,
        kind: "agent_job.finished",
        actor: "agent:script",
        payload: { jobId: id, artifacts: [{ sha256: log.sha256, kind: log.kind }] },
        createdAt: new Date(),
      },
    ]);
  }
});

async function verify(): Promise<{ code: number; output: string }> {
  let output = "";
  const code = await runVerifyCommand([], {
    sql: database.sql,
    artifacts: store,
    publicKeys: null,
    out: (text) => (output += text),
  });
  return { code, output };
}

describe("retention pruning", () => {
  test("old finished rows go; young rows, pending rows, live tasks' rows and what evidence or red mode reads stay; the trail still verifies", async () => {
    const before = await database.sql<{ n: number }[]>`select count(*)::int as n from compliance_records`;
    const red = async () => [
      await isRepoRed(database.sql, 10, ["github-actions"]),
      await isRepoRed(database.sql, 10, ["circleci"]),
    ];
    expect(await red()).toEqual([false, true]);
    const report = await pruneExpiredData({ sql: database.sql, retentionDays: 30, batchSize: 1, log: silent });
    expect(report).toEqual({
      inbox: 2,
      effects: 1,
      job_log_lines: 4,
      job_logs: 1,
      outbound_hooks: 1,
      ci_results: 2,
      api_idempotency_keys: 1,
    });

    const inbox = await database.sql<
      { delivery_id: string }[]
    >`select delivery_id from webhook_deliveries order by delivery_id`;
    expect(inbox.map((row) => row.delivery_id)).toEqual(["old-pending", "young-done"]);
    const effects = await database.sql<{ kind: string }[]>`select kind from effects order by kind`;
    expect(effects.map((row) => row.kind)).toEqual(["live-old-done", "old-pending", "young-done"]);
    const lines = await database.sql<
      { job_id: string }[]
    >`select distinct job_id from agent_job_log_lines order by job_id`;
    expect(lines.map((row) => row.job_id)).toEqual([YOUNG_JOB, LIVE_JOB]);
    const logs = await database.sql<{ id: string; log: string | null }[]>`select id, log from agent_jobs order by id`;
    expect(logs.map((row) => [row.id, row.log !== null])).toEqual([
      [OLD_JOB, false],
      [YOUNG_JOB, true],
      [LIVE_JOB, true],
      // No record holds a copy of this job's log: it is kept.
      [UNRECORDED_JOB, true],
    ]);
    const hooks = await database.sql<
      { idempotency_key: string }[]
    >`select idempotency_key from outbound_hooks order by id`;
    expect(hooks.map((row) => row.idempotency_key)).toEqual([
      "checkpoint:1",
      "summary:10:old-pending",
      "summary:10:old-failed",
    ]);
    // The merged task's suite stays (its evidence bundle lists it), and so does each app's latest on main.
    const suites = await database.sql<{ suite_id: string }[]>`select suite_id from ci_results order by id`;
    expect(suites.map((row) => Number(row.suite_id))).toEqual([2, 3, 5, 6]);
    expect(await red()).toEqual([false, true]);
    const keys = await database.sql<{ key: string }[]>`select key from api_idempotency_keys order by key`;
    expect(keys.map((row) => row.key)).toEqual(["expired-young", "fresh"]);

    const after = await database.sql<{ n: number }[]>`select count(*)::int as n from compliance_records`;
    expect(after[0]!.n).toBe(before[0]!.n);
    const artifacts = await database.sql<{ n: number }[]>`select count(*)::int as n from artifacts`;
    expect(artifacts[0]!.n).toBe(3);
    const verified = await verify();
    expect(verified.output).toContain("OK");
    expect(verified.code).toBe(0);
  });

  test("a pruned job's log link says the log was removed and where its evidence copy is; a kept one still serves", async () => {
    await pruneExpiredData({ sql: database.sql, retentionDays: 30, log: silent });
    const route = createJobLogRoute({ sql: database.sql } as Database);
    const server = createServer((req, res) => void route(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const read = async (id: string) => {
        const response = await fetch(`http://127.0.0.1:${port}/jobs/${id}/log?token=token-${id}`);
        return { status: response.status, body: await response.text() };
      };
      expect(await read(OLD_JOB)).toEqual({
        status: 410,
        body: JSON.stringify({
          error:
            "This job's log was removed after RETENTION_DAYS. Its evidence copy stays: ask an auditor for the task's evidence bundle.",
        }),
      });
      expect(await read(YOUNG_JOB)).toEqual({ status: 200, body: `log of ${YOUNG_JOB}\n` });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test("a second round finds nothing, and retention off prunes nothing", async () => {
    expect(await pruneExpiredData({ sql: database.sql, retentionDays: null, log: silent })).toBeNull();
    await pruneExpiredData({ sql: database.sql, retentionDays: 30, log: silent });
    expect(await pruneExpiredData({ sql: database.sql, retentionDays: 30, log: silent })).toEqual({
      inbox: 0,
      effects: 0,
      job_log_lines: 0,
      job_logs: 0,
      outbound_hooks: 0,
      ci_results: 0,
      api_idempotency_keys: 0,
    });
  });

  test("one replica prunes per round: while another holds the lock, a round is skipped", async () => {
    const other = await database.sql.reserve();
    try {
      await other`select pg_advisory_lock(7340022)`;
      expect(await pruneExpiredData({ sql: database.sql, retentionDays: 30, log: silent })).toBeNull();
      await other`select pg_advisory_unlock(7340022)`;
    } finally {
      other.release();
    }
  });
});

describe("RETENTION_DAYS", () => {
  const base = {};
  test("defaults to 30, accepts off, and refuses less than the redelivery window plus margin", () => {
    expect(parseEnv(base).RETENTION_DAYS).toBe(30);
    expect(parseEnv({ ...base, RETENTION_DAYS: "off" }).RETENTION_DAYS).toBeNull();
    expect(parseEnv({ ...base, RETENTION_DAYS: "90" }).RETENTION_DAYS).toBe(90);
    expect(() => parseEnv({ ...base, RETENTION_DAYS: "3" })).toThrow(/at least 7.*redeliver.*RETENTION_DAYS=30/s);
  });
});
