import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { computeHookBackoffMs, signHookBody } from "../compliance/change-hook.js";
import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { claimDueOutboundHooks, type ClaimedOutboundHook } from "../db/queries/claim-due-outbound-hooks.js";
import { finishOutboundHook, type OutboundHookOutcome } from "../db/queries/finish-outbound-hook.js";
import { insertOutboundHook } from "../db/queries/insert-outbound-hook.js";
import { buildSummaryKey, listRepositoriesToSummarize } from "../db/queries/list-repositories-to-summarize.js";
import type { OutboundHookKind } from "../db/schema.js";
import { withTransaction } from "../db/with-transaction.js";
import { buildDailySummary, type DailySummary, type SummaryLinks } from "./build-daily-summary.js";
import { postJson } from "./post-json.js";
import { renderSummaryEmail } from "./render-summary-email.js";
import type { SummaryMailer } from "./summary-mailer.js";
import { findDueSummaryPeriod } from "./summary-period.js";

/** Where summaries go and when (from the environment, by the composition root). */
export interface SummarySchedulerOptions {
  sql: SqlClient;
  /** POST the summary's JSON here (`SUMMARY_WEBHOOK_URL`). */
  webhookUrl?: string | undefined;
  /** Sign the webhook's body with HMAC-SHA256 (`X-Foreman-Signature`). */
  webhookSecret?: string | undefined;
  /** Email the summary (`SUMMARY_EMAIL_TO`, `SUMMARY_EMAIL_FROM`, the SMTP server). */
  email?: { to: string[]; from: string; mailer: SummaryMailer } | undefined;
  /** The UTC hour from which yesterday's summary is due. */
  hourUtc: number;
  links: SummaryLinks;
  log: Pick<Logger, "info" | "warn" | "error">;
  now?: () => Date;
  /** How often to look (default 60 s). */
  intervalMs?: number;
  /** Attempts before a summary is marked failed (default 20, about a day with the backoff). */
  maxAttempts?: number;
  /** Per-request timeout of the webhook (default 10 s). */
  timeoutMs?: number;
  /** This process's replica name and whether it has just taken its liveness lock (as in the compliance scheduler). */
  replica?: { name: string; restarted: string | null };
}

/** What one round did. */
export interface SummaryTickResult {
  day: string;
  queued: number;
  delivered: number;
  retrying: number;
  failed: number;
  skipped: number;
}

const SUMMARY_KINDS: readonly OutboundHookKind[] = ["summary_webhook", "summary_email"];
const LEASE_MS = 5 * 60_000;

/** The summary kinds the options deliver to. */
function listConfiguredKinds(options: SummarySchedulerOptions): OutboundHookKind[] {
  return [
    ...(options.webhookUrl ? (["summary_webhook"] as const) : []),
    ...(options.email ? (["summary_email"] as const) : []),
  ];
}

/**
 * One round: queue the due day's summary for every repository not yet queued for it (one row per
 * repository, day and channel, inserted once whatever the number of replicas), then deliver the
 * queued summaries that are due. A failed send is retried with backoff on a later round.
 */
export async function runSummaryTick(options: SummarySchedulerOptions): Promise<SummaryTickResult> {
  const now = (options.now ?? (() => new Date()))();
  const period = findDueSummaryPeriod(now, options.hourUtc);
  const kinds = listConfiguredKinds(options);
  const result: SummaryTickResult = { day: period.day, queued: 0, delivered: 0, retrying: 0, failed: 0, skipped: 0 };
  if (kinds.length > 0) {
    for (const repo of await listRepositoriesToSummarize(options.sql, period.day, kinds)) {
      const summary = await buildDailySummary(options.sql, repo, period, options.links, now);
      const body = JSON.stringify(summary);
      for (const kind of repo.missing) {
        const key = buildSummaryKey(repo.id, period.day);
        const queued = await insertOutboundHook(options.sql, {
          kind,
          idempotencyKey: key,
          taskId: null,
          body,
          nextAt: now,
        });
        // Another replica may have queued it first: then this one adds nothing.
        if (queued) result.queued += 1;
      }
    }
  }
  const claimed = await claimDueOutboundHooks(
    options.sql,
    now.toISOString(),
    new Date(now.getTime() + LEASE_MS).toISOString(),
    20,
    SUMMARY_KINDS,
    { replica: options.replica?.name ?? null, restarted: options.replica?.restarted },
  );
  for (const hook of claimed) {
    const outcome = await deliverSummary(options, now, hook);
    await withTransaction(options.sql, async (tx) => {
      await finishOutboundHook(tx, hook.id, outcome);
      if (outcome.status === "delivered") await appendComplianceRecords(tx, [buildSentRecord(options, hook, now)]);
    });
    if (outcome.status === "delivered") result.delivered += 1;
    else if (outcome.status === "pending") result.retrying += 1;
    else result[outcome.status] += 1;
    const facts = { hookId: hook.id, kind: hook.kind, key: hook.idempotencyKey, attempt: hook.attempts };
    if (outcome.status === "delivered") options.log.info(facts, "daily summary sent");
    if (outcome.status === "pending")
      options.log.warn({ ...facts, error: outcome.error }, "daily summary not sent; will retry");
    if (outcome.status === "failed")
      options.log.error({ ...facts, error: outcome.error }, "daily summary not sent; gave up");
    if (outcome.status === "skipped") options.log.warn({ ...facts, error: outcome.error }, "daily summary skipped");
  }
  return result;
}

/** The compliance record of a summary sent: which repository, day and channel, and the hash of what was sent. */
function buildSentRecord(options: SummarySchedulerOptions, hook: ClaimedOutboundHook, now: Date) {
  const summary = JSON.parse(hook.body ?? "{}") as Partial<DailySummary>;
  return {
    taskId: null,
    kind: "summary.sent",
    actor: "foreman",
    payload: {
      repoId: summary.repo?.id ?? null,
      repo: summary.repo?.fullName ?? null,
      day: summary.day ?? null,
      channel: hook.kind === "summary_webhook" ? "webhook" : "email",
      ...(hook.kind === "summary_email" ? { to: options.email?.to ?? [] } : {}),
      hookId: hook.id,
      idempotencyKey: hook.idempotencyKey,
      attempt: hook.attempts,
      bodySha256: createHash("sha256")
        .update(hook.body ?? "")
        .digest("hex"),
    },
    createdAt: now,
  };
}

async function deliverSummary(
  options: SummarySchedulerOptions,
  now: Date,
  hook: ClaimedOutboundHook,
): Promise<OutboundHookOutcome> {
  if (hook.body === null) return { status: "failed", error: "the summary has no body" };
  let error: string;
  try {
    if (hook.kind === "summary_webhook") {
      if (!options.webhookUrl) return { status: "skipped", error: "SUMMARY_WEBHOOK_URL is not set" };
      const problem = await postSummary(options, options.webhookUrl, hook);
      if (problem === null) return { status: "delivered", at: now.toISOString() };
      error = problem;
    } else {
      if (!options.email) return { status: "skipped", error: "SUMMARY_EMAIL_TO is not set" };
      const summary = JSON.parse(hook.body) as DailySummary;
      const { subject, text } = renderSummaryEmail(summary);
      await options.email.mailer.send({
        from: options.email.from,
        to: options.email.to,
        subject,
        text,
        messageId: `<${hook.idempotencyKey.replaceAll(":", ".")}@foreman>`,
      });
      return { status: "delivered", at: now.toISOString() };
    }
  } catch (caught) {
    error =
      hook.kind === "summary_webhook"
        ? `the receiver could not be reached (${(caught as Error).message})`
        : `the mail server did not take the summary (${(caught as Error).message})`;
  }
  if (hook.attempts >= (options.maxAttempts ?? 20)) return { status: "failed", error };
  return {
    status: "pending",
    nextAt: new Date(now.getTime() + computeHookBackoffMs(hook.attempts)).toISOString(),
    error,
  };
}

/** POST the summary; null when the receiver took it, else why not. */
async function postSummary(
  options: SummarySchedulerOptions,
  url: string,
  hook: ClaimedOutboundHook,
): Promise<string | null> {
  const body = hook.body ?? "";
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "foreman-summary",
    "idempotency-key": hook.idempotencyKey,
    "x-foreman-event": "summary.daily",
    "x-foreman-delivery": String(hook.id),
  };
  if (options.webhookSecret) headers["x-foreman-signature"] = signHookBody(body, options.webhookSecret);
  const status = await postJson(url, headers, body, options.timeoutMs ?? 10_000);
  return status >= 200 && status < 300 ? null : `the receiver answered HTTP ${status}`;
}

/**
 * Run summary rounds in the background until stopped (the compliance scheduler's pattern). A
 * failed round is logged and the next one tries again. Returns a function that stops the loop,
 * waits for a round in flight and closes the mailer.
 */
export function startSummaryScheduler(options: SummarySchedulerOptions): () => Promise<void> {
  const intervalMs = options.intervalMs ?? 60_000;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  // Only the first round may take leases under this process's own name (its predecessor's).
  let current = options;
  const round = async () => {
    try {
      await runSummaryTick(current);
      if (current.replica) current = { ...current, replica: { ...current.replica, restarted: null } };
    } catch (error) {
      options.log.error({ err: error }, "summary round failed");
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = round().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  inFlight = round().finally(schedule);

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await inFlight;
    options.email?.mailer.close();
  };
}
