import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { parseEnv } from "../../src/config/env.js";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import type { SqlClient } from "../../src/db/client.js";
import { listTemplateStats } from "../../src/db/queries/list-template-stats.js";
import { buildSummarySchedulerOptions } from "../../src/main.js";
import { runTemplatesCommand } from "../../src/cli/templates.js";
import { CommandError } from "../../src/cli/command-error.js";
import {
  runSummaryTick,
  startSummaryScheduler,
  type SummarySchedulerOptions,
} from "../../src/summary/summary-scheduler.js";
import { useTestDatabase } from "../helpers/test-database.js";

const database = useTestDatabase();
const SECRET = "summary-secret";
const HOUR = 3_600_000;
const MINUTE = 60_000;
// The clock these tests control. The day summarised is the one before NOW's date; every row's time
// is an offset from it, so nothing depends on the calendar.
const DAY_START = Date.parse("2026-11-20T00:00:00.000Z");
const at = (ms: number): Date => new Date(DAY_START + ms);
const NOW = at(24 * HOUR + 7 * HOUR); // 07:00 the next day, past SUMMARY_HOUR_UTC=6

const REPO = 10;
const IDLE_REPO = 20;
const TASK = {
  a: "00000000-0000-4000-8000-00000000000a",
  b: "00000000-0000-4000-8000-00000000000b",
  c: "00000000-0000-4000-8000-00000000000c",
  d: "00000000-0000-4000-8000-00000000000d",
  e: "00000000-0000-4000-8000-00000000000e",
};
interface Template {
  role: string;
  taskType: string;
  overrides: string[];
  sha256: string;
}
const T1: Template = { role: "coder", taskType: "feature", overrides: [], sha256: "1".repeat(64) };
const T2: Template = { role: "reviewer", taskType: "feature", overrides: [], sha256: "2".repeat(64) };
const T3: Template = { role: "coder", taskType: "feature", overrides: ["roles/coder.md.hbs"], sha256: "3".repeat(64) };

// A webhook receiver on loopback: records each request, answers with the queued statuses, then 200.
let webhook: Server;
let webhookUrl: string;
let webhookStatuses: number[];
let posts: Array<{ headers: Record<string, string | string[] | undefined>; body: string }>;
// A real SMTP server in-process: records each message, refuses while `smtpRefusals` > 0.
let smtp: SMTPServer;
let smtpUrl: string;
let smtpRefusals: number;
let mails: Array<{ to: string[]; from: string; raw: string }>;
let warnings: Array<{ data: unknown; message: string }>;

beforeAll(async () => {
  webhook = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      posts.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.statusCode = webhookStatuses.shift() ?? 200;
      response.end();
    });
  });
  await new Promise<void>((resolve) => webhook.listen(0, "127.0.0.1", resolve));
  webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hooks/summary`;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        if (smtpRefusals > 0) {
          smtpRefusals -= 1;
          const error = Object.assign(new Error("mailbox unavailable, try later"), { responseCode: 451 });
          return callback(error);
        }
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => webhook.close(resolve));
  await new Promise<void>((resolve) => smtp.close(() => resolve()));
});

beforeEach(async () => {
  await database.sql.begin(async (tx) => {
    await tx`set local session_replication_role = replica`;
    await tx`truncate compliance_records, outbound_hooks, agent_job_log_lines, agent_jobs, ci_results, effects, tasks, repositories`;
  });
  posts = [];
  webhookStatuses = [];
  mails = [];
  smtpRefusals = 0;
  warnings = [];
  await seedDay(database.sql);
});

/** One "replica": the settings main.ts builds from the environment, with the test's clock and logger. */
function buildReplica(now: Date, overrides: Record<string, string> = {}): SummarySchedulerOptions {
  const env = parseEnv({
    AGENTS_ENABLED: "false",
    PUBLIC_URL: "https://foreman.example.com",
    SUMMARY_WEBHOOK_URL: webhookUrl,
    SUMMARY_WEBHOOK_SECRET: SECRET,
    SUMMARY_EMAIL_TO: "ops@example.com, lead@example.com",
    SUMMARY_EMAIL_FROM: "foreman@example.com",
    SMTP_URL: smtpUrl,
    SUMMARY_HOUR_UTC: "6",
    ...overrides,
  });
  const log = {
    info: () => {},
    warn: (data: unknown, message: string) => warnings.push({ data, message }),
    error: (data: unknown, message: string) => warnings.push({ data, message }),
  };
  const options = buildSummarySchedulerOptions(env, database.sql, log as unknown as SummarySchedulerOptions["log"]);
  if (!options) throw new Error("summaries are configured");
  return { ...options, now: () => now };
}

async function insertTask(sql: SqlClient, id: string, issue: number, state: string, createdAt: Date): Promise<void> {
  await sql`
    insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title, type,
      trigger_label, triggered_by, state, pr_url, created_at, updated_at)
    values (${id}, 1, ${REPO}, 'acme', 'api', 'main', ${issue}, ${`Issue ${issue}`}, 'feature', 'agent:ready', 'octocat',
      ${state}, ${`https://github.com/acme/api/pull/${issue + 100}`}, ${createdAt.toISOString()}, ${createdAt.toISOString()})`;
}

interface JobRow {
  id: string;
  task: string;
  role: string;
  status: "succeeded" | "failed" | "cancelled";
  finishedAt: Date;
  template: Template | null;
  costUsd: number;
  baseSha?: string;
  pushedSha?: string;
  failureCode?: string;
  result?: unknown;
}

async function insertJob(sql: SqlClient, job: JobRow): Promise<void> {
  const usage = JSON.stringify({ durationMs: 60_000, tokens: 1000, costUsd: job.costUsd });
  await sql`
    insert into agent_jobs (id, task_id, role, profile, status, base_sha, finished_at, failure_code, failure_message,
      result, usage, prompt_template, prompt_template_sha256, log_token, pushed_sha, created_at)
    values (${job.id}, ${job.task}, ${job.role}, 'claude-code', ${job.status}, ${job.baseSha ?? "base"},
      ${job.finishedAt.toISOString()}, ${job.failureCode ?? null}, ${job.failureCode ? `${job.failureCode} happened` : null},
      ${job.result === undefined ? null : JSON.stringify(job.result)}, ${usage},
      ${job.template ? JSON.stringify(job.template) : null}, ${job.template?.sha256 ?? null}, ${`token-${job.id.slice(-2)}`},
      ${job.pushedSha ?? null}, ${job.finishedAt.toISOString()})`;
}

function transition(task: string, from: string | null, to: string, createdAt: Date) {
  return { taskId: task, kind: "task.transition", actor: "foreman", payload: { from, to }, createdAt };
}

function prOpened(task: string, createdAt: Date) {
  return { taskId: task, kind: "effect.open_draft_pr", actor: "foreman[app]", payload: {}, createdAt };
}

const job = (n: number) => `00000000-0000-4000-9000-0000000000${String(n).padStart(2, "0")}`;

/**
 * The day: A is started, gets its PR in 30 min and merges with CI green the first time; B gets its
 * PR in 60 min, CI fails once, then merges; C gets its PR in 20 min and escalates; D, started the
 * day before, is cancelled; E starts the next day. Jobs: coders (T1), a reviewer (T2) asking for
 * changes on A's commit, a person approving B's, two timeouts with a repository template (T3).
 */
async function seedDay(sql: SqlClient): Promise<void> {
  await sql`insert into repositories (id, installation_id, full_name) values (${REPO}, 1, 'acme/api'), (${IDLE_REPO}, 1, 'acme/web')`;
  await sql`insert into repositories (id, installation_id, full_name, removed_at) values (30, 1, 'acme/gone', ${at(0).toISOString()})`;
  await insertTask(sql, TASK.a, 1, "merged", at(1 * HOUR));
  await insertTask(sql, TASK.b, 2, "merged", at(2 * HOUR));
  await insertTask(sql, TASK.c, 3, "escalated", at(3 * HOUR));
  await insertTask(sql, TASK.d, 4, "cancelled", at(-1 * HOUR));
  await insertTask(sql, TASK.e, 5, "awaiting_ci", at(25 * HOUR));
  await appendComplianceRecords(sql, [
    transition(TASK.d, null, "queued", at(-1 * HOUR)),
    prOpened(TASK.d, at(-30 * MINUTE)),
    transition(TASK.a, null, "queued", at(1 * HOUR)),
    prOpened(TASK.a, at(1 * HOUR + 30 * MINUTE)),
    transition(TASK.b, null, "queued", at(2 * HOUR)),
    prOpened(TASK.b, at(3 * HOUR)),
    transition(TASK.c, null, "queued", at(3 * HOUR)),
    prOpened(TASK.c, at(3 * HOUR + 20 * MINUTE)),
    transition(TASK.c, "awaiting_ci", "awaiting_ci", at(3 * HOUR + 30 * MINUTE)),
    transition(TASK.c, "awaiting_ci", "escalated", at(4 * HOUR)),
    transition(TASK.a, "ready_for_review", "merged", at(5 * HOUR)),
    {
      taskId: TASK.b,
      kind: "review.submitted",
      actor: "mona",
      payload: { state: "approved", commitId: "b1" },
      createdAt: at(8 * HOUR),
    },
    transition(TASK.b, "ready_for_review", "merged", at(10 * HOUR)),
    transition(TASK.d, "awaiting_agent", "cancelled", at(12 * HOUR)),
    transition(TASK.e, null, "queued", at(25 * HOUR)),
  ]);
  await insertJob(sql, {
    id: job(1),
    task: TASK.a,
    role: "coder",
    status: "succeeded",
    finishedAt: at(2 * HOUR),
    template: T1,
    costUsd: 0.5,
    pushedSha: "a1",
  });
  await insertJob(sql, {
    id: job(2),
    task: TASK.a,
    role: "reviewer",
    status: "succeeded",
    finishedAt: at(2 * HOUR + 10 * MINUTE),
    template: T2,
    costUsd: 0.25,
    baseSha: "a1",
    result: { status: "needs_changes", summary: "rename it" },
  });
  await insertJob(sql, {
    id: job(3),
    task: TASK.b,
    role: "coder",
    status: "succeeded",
    finishedAt: at(4 * HOUR),
    template: T1,
    costUsd: 1,
    pushedSha: "b1",
  });
  await insertJob(sql, {
    id: job(4),
    task: TASK.c,
    role: "coder",
    status: "failed",
    finishedAt: at(3 * HOUR + 40 * MINUTE),
    template: T3,
    costUsd: 0.2,
    failureCode: "AGENT_TIMEOUT",
  });
  await insertJob(sql, {
    id: job(5),
    task: TASK.c,
    role: "coder",
    status: "failed",
    finishedAt: at(3 * HOUR + 50 * MINUTE),
    template: T3,
    costUsd: 0.4,
    failureCode: "AGENT_TIMEOUT",
  });
  await insertJob(sql, {
    id: job(6),
    task: TASK.d,
    role: "planner",
    status: "failed",
    finishedAt: at(11 * HOUR),
    template: T1,
    costUsd: 0.1,
    failureCode: "RESULT_MISSING",
  });
  await insertJob(sql, {
    id: job(7),
    task: TASK.d,
    role: "coder",
    status: "cancelled",
    finishedAt: at(12 * HOUR),
    template: T1,
    costUsd: 0.05,
    failureCode: "AGENT_STOPPED",
  });
  // The next day's job: in neither the day's numbers nor the template window that ends with it.
  await insertJob(sql, {
    id: job(8),
    task: TASK.e,
    role: "coder",
    status: "failed",
    finishedAt: at(25 * HOUR),
    template: T1,
    costUsd: 9,
    failureCode: "AGENT_OOM",
  });
  await sql`
    insert into ci_results (repo_id, task_id, suite_id, head_sha, app, conclusion, created_at) values
      (${REPO}, ${TASK.a}, 1, 'a1', 'github-actions', 'success', ${at(3 * HOUR).toISOString()}),
      (${REPO}, ${TASK.b}, 2, 'b1', 'github-actions', 'failure', ${at(5 * HOUR).toISOString()}),
      (${REPO}, ${TASK.b}, 3, 'b2', 'github-actions', 'success', ${at(7 * HOUR).toISOString()})`;
}

function summaryPosts(): Array<{
  headers: Record<string, string | string[] | undefined>;
  json: Record<string, unknown>;
}> {
  return posts.map((post) => ({ headers: post.headers, json: JSON.parse(post.body) as Record<string, unknown> }));
}

/** The text part of a message as a person reads it (quoted-printable undone). */
function readMailText(raw: string): string {
  const body = raw.slice(raw.search(/\r?\n\r?\n/));
  const bytes = body
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, "latin1").toString("utf8").replace(/\r\n/g, "\n");
}

describe("daily summaries", () => {
  test("once the hour has come, each repository's day goes to the webhook (signed) and by email, with its numbers", async () => {
    const result = await runSummaryTick(buildReplica(NOW));
    expect(result).toEqual({ day: "2026-11-20", queued: 4, delivered: 4, retrying: 0, failed: 0, skipped: 0 });

    const received = summaryPosts();
    expect(received.map((post) => (post.json.repo as { fullName: string }).fullName).sort()).toEqual([
      "acme/api",
      "acme/web",
    ]);
    for (const post of posts) {
      // What a receiver does: recompute the HMAC over the exact bytes.
      expect(post.headers["x-foreman-signature"]).toBe(
        `sha256=${createHmac("sha256", SECRET).update(post.body).digest("hex")}`,
      );
      expect(post.headers["x-foreman-event"]).toBe("summary.daily");
    }
    const api = received.find((post) => (post.json.repo as { id: number }).id === REPO)!;
    expect(api.headers["idempotency-key"]).toBe(`summary:${REPO}:2026-11-20`);
    expect(api.json).toMatchObject({
      type: "foreman.summary.daily",
      day: "2026-11-20",
      period: { since: at(0).toISOString(), until: at(24 * HOUR).toISOString() },
      generatedAt: NOW.toISOString(),
      tasks: { started: 3, finished: 3, finishedByState: { merged: 2, cancelled: 1 }, escalated: 1 },
      pullRequests: {
        opened: 3,
        merged: 2,
        mergedCiFirstPass: 1,
        ciFirstPassRate: 0.5,
        timeToPrMedianMs: 30 * MINUTE,
        timeToPrMaxMs: 60 * MINUTE,
      },
      agents: { jobs: 7, tokens: 7000, agentMs: 7 * 60_000 },
    });
    expect((api.json.agents as { costUsd: number }).costUsd).toBeCloseTo(2.5);
    expect(api.json.worstFailures).toEqual([
      {
        code: "AGENT_TIMEOUT",
        count: 2,
        examples: [job(5), job(4)].map((id) => ({
          jobId: id,
          taskId: TASK.c,
          role: "coder",
          issueNumber: 3,
          issueUrl: "https://github.com/acme/api/issues/3",
          prUrl: "https://github.com/acme/api/pull/103",
          logUrl: `https://foreman.example.com/jobs/${id}/log?token=token-${id.slice(-2)}`,
          evidenceUrl: `https://foreman.example.com/api/compliance/tasks/${TASK.c}`,
          message: "AGENT_TIMEOUT happened",
        })),
      },
      {
        code: "RESULT_MISSING",
        count: 1,
        examples: [expect.objectContaining({ jobId: job(6), role: "planner", issueNumber: 4 })],
      },
    ]);
    const templates = api.json.templates as { windowDays: number; stats: Array<Record<string, unknown>> };
    expect(templates.windowDays).toBe(30);
    expect(templates.stats).toEqual([
      expect.objectContaining({
        ...T1,
        jobs: 3,
        succeeded: 2,
        successRate: 2 / 3,
        ciRuns: 2,
        ciFirstPass: 1,
        ciFirstPassRate: 0.5,
        reviewed: 2,
        changesRequested: 1,
        changesRequestedRate: 0.5,
      }),
      expect.objectContaining({ ...T3, jobs: 2, succeeded: 0, successRate: 0, ciRuns: 0, ciFirstPassRate: null }),
      expect.objectContaining({
        ...T2,
        jobs: 1,
        succeeded: 1,
        successRate: 1,
        reviewed: 0,
        changesRequestedRate: null,
      }),
    ]);
    expect(templates.stats[0]!.costUsd as number).toBeCloseTo(1.6);

    const idle = received.find((post) => (post.json.repo as { id: number }).id === IDLE_REPO)!;
    expect(idle.json).toMatchObject({
      tasks: { started: 0, finished: 0, escalated: 0 },
      worstFailures: [],
      templates: { stats: [] },
    });

    expect(mails).toHaveLength(2);
    for (const mail of mails) {
      expect(mail.from).toBe("foreman@example.com");
      expect(mail.to).toEqual(["ops@example.com", "lead@example.com"]);
    }
    const apiMail = mails.find((mail) => mail.raw.includes("Subject: Foreman daily summary: acme/api, 2026-11-20"))!;
    expect(apiMail.raw).toContain(`Message-ID: <summary.${REPO}.2026-11-20@foreman>`);
    const text = readMailText(apiMail.raw);
    expect(text).toContain("  started: 3\n  finished: 3 (cancelled 1, merged 2)\n  escalated: 1\n");
    expect(text).toContain(
      "  merged: 2, CI first-pass rate 50% (1 of 2)\n  time to PR: median 30 min, longest 60 min\n",
    );
    expect(text).toContain("  jobs: 7, cost $2.50, tokens 7000, agent time 7 min\n");
    expect(text).toContain(
      `  AGENT_TIMEOUT: 2\n    - coder on #3: https://foreman.example.com/jobs/${job(5)}/log?token=token-05\n`,
    );
    expect(text).toContain(
      `  coder × feature (repository: roles/coder.md.hbs, ${"3".repeat(12)}): 2 jobs, success 0%, CI first pass n/a, changes requested n/a, cost $0.60\n`,
    );

    // Each summary sent is a compliance record.
    const records = await database.sql`
      select payload->>'repo' as repo, payload->>'day' as day, payload->>'channel' as channel from compliance_records
       where kind = 'summary.sent' order by 1, 3`;
    expect(records.map((row) => `${row.repo} ${row.day} ${row.channel}`)).toEqual([
      "acme/api 2026-11-20 email",
      "acme/api 2026-11-20 webhook",
      "acme/web 2026-11-20 email",
      "acme/web 2026-11-20 webhook",
    ]);
  });

  test("two replicas at once, then a restart later the same day: one webhook and one email per repository", async () => {
    const results = await Promise.all([runSummaryTick(buildReplica(NOW)), runSummaryTick(buildReplica(NOW))]);
    expect(results.reduce((sum, result) => sum + result.queued, 0)).toBe(4);
    expect(results.reduce((sum, result) => sum + result.delivered, 0)).toBe(4);
    await runSummaryTick(buildReplica(new Date(NOW.getTime() + 10 * HOUR)));
    expect(posts).toHaveLength(2);
    expect(mails).toHaveLength(2);
    const [row] = await database.sql`select count(*)::int as count from compliance_records where kind = 'summary.sent'`;
    expect(row!.count).toBe(4);
  });

  test("before the hour, the day is not yet due: the day before is summarised", async () => {
    const early = at(24 * HOUR + 5 * HOUR + 59 * MINUTE);
    expect(await runSummaryTick(buildReplica(early))).toMatchObject({ day: "2026-11-19", delivered: 4 });
    expect(summaryPosts().map((post) => post.json.day)).toEqual(["2026-11-19", "2026-11-19"]);
    expect((await runSummaryTick(buildReplica(NOW))).day).toBe("2026-11-20");
    expect(posts).toHaveLength(4);
  });

  test("a failed send is logged and retried later with the same body, and sent once", async () => {
    webhookStatuses = [500, 500];
    smtpRefusals = 2;
    const first = await runSummaryTick(buildReplica(NOW));
    expect(first).toMatchObject({ delivered: 0, retrying: 4 });
    expect(warnings.map((warning) => warning.message)).toEqual(Array(4).fill("daily summary not sent; will retry"));
    expect(warnings.map((warning) => (warning.data as { error: string }).error).sort()).toEqual([
      expect.stringContaining("mailbox unavailable"),
      expect.stringContaining("mailbox unavailable"),
      "the receiver answered HTTP 500",
      "the receiver answered HTTP 500",
    ]);
    // Not before the backoff (30 s after the first attempt) is over.
    expect(await runSummaryTick(buildReplica(new Date(NOW.getTime() + 10_000)))).toMatchObject({
      delivered: 0,
      retrying: 0,
    });
    const second = await runSummaryTick(buildReplica(new Date(NOW.getTime() + 31_000)));
    expect(second).toMatchObject({ queued: 0, delivered: 4, retrying: 0 });
    expect(posts).toHaveLength(4);
    // The retries send the bytes of the first attempts: two summaries, four requests.
    expect(new Set(posts.map((post) => post.body)).size).toBe(2);
    expect(mails).toHaveLength(2);
    const rows = await database.sql`select kind, status, attempts from outbound_hooks order by id`;
    expect(rows.map((row) => `${row.kind} ${row.status} ${row.attempts}`)).toEqual(
      Array(2).fill(["summary_webhook delivered 2", "summary_email delivered 2"]).flat(),
    );
  });

  test("per-template statistics of all repositories are one query", async () => {
    const stats = await listTemplateStats(database.sql, { since: at(0), until: at(48 * HOUR) });
    expect(stats.map((row) => [row.sha256.slice(0, 1), row.jobs, row.succeeded])).toEqual([
      ["1", 4, 2],
      ["3", 2, 0],
      ["2", 1, 1],
    ]);
  });

  test("foreman templates stats prints the same statistics for a repository and a window, and refuses bad options", async () => {
    const lines: string[] = [];
    const deps = { sql: database.sql, out: (text: string) => lines.push(text), now: NOW };
    expect(await runTemplatesCommand(["stats", "--repo", "ACME/api", "--days", "30"], deps)).toBe(0);
    expect(lines.join("\n")).toMatchInlineSnapshot(`
      "Prompt templates, agent jobs that ended in the last 30 days (ACME/api):
      role      task type  template                  sha256        jobs  success  CI first pass  changes req.  cost
      coder     feature    built-in                  111111111111  4     50%      50% (1/2)      50% (1/2)     $10.60
      coder     feature    repo: roles/coder.md.hbs  333333333333  2     0%       n/a (0/0)      n/a (0/0)     $0.60
      reviewer  feature    built-in                  222222222222  1     100%     n/a (0/0)      n/a (0/0)     $0.25"
    `);
    lines.length = 0;
    expect(await runTemplatesCommand(["stats", "--repo", "acme/web"], deps)).toBe(0);
    expect(lines).toEqual(["No agent job with a recorded template ended in the last 30 days (acme/web)."]);
    lines.length = 0;
    expect(await runTemplatesCommand(["stats", "--json"], deps)).toBe(0);
    expect(JSON.parse(lines[0]!).map((row: { sha256: string; jobs: number }) => [row.sha256[0], row.jobs])).toEqual([
      ["1", 4],
      ["3", 2],
      ["2", 1],
    ]);
    await expect(runTemplatesCommand(["stats", "--days", "a week"], deps)).rejects.toThrow(
      new CommandError("--days needs a whole number of days, e.g. foreman templates stats --days 7"),
    );
    await expect(runTemplatesCommand(["stats", "--repo", "api"], deps)).rejects.toThrow(
      "--repo needs owner/name, e.g. foreman templates stats --repo acme/api",
    );
  });

  test("the scheduler Foreman.start() runs does a round at once; without a webhook or email there is none", async () => {
    const stop = startSummaryScheduler({ ...buildReplica(NOW), intervalMs: 3_600_000 });
    await stop(); // waits for the round in flight
    expect(posts).toHaveLength(2);
    expect(mails).toHaveLength(2);
    const env = parseEnv({ AGENTS_ENABLED: "false" });
    expect(buildSummarySchedulerOptions(env, database.sql, console)).toBeNull();
  });
});
