import { createHmac } from "node:crypto";
import type { Logger } from "pino";
import type { SqlClient } from "../db/client.js";
import {
  claimDueOutboundHooks,
  type ClaimedOutboundHook,
  type OutboundHookClaimer,
} from "../db/queries/claim-due-outbound-hooks.js";
import { finishOutboundHook, type OutboundHookOutcome } from "../db/queries/finish-outbound-hook.js";
import { insertOutboundHook } from "../db/queries/insert-outbound-hook.js";
import { saveOutboundHookBody } from "../db/queries/save-outbound-hook-body.js";
import type { ArtifactStore } from "./artifacts.js";
import { buildEvidenceBundle } from "./evidence-bundle.js";

/** Where notifications go and how they are signed (from the environment), plus delivery tuning. */
export interface HookDeliveryConfig {
  changeHookUrl?: string | undefined;
  changeHookSecret?: string | undefined;
  checkpointPublishUrl?: string | undefined;
  artifacts?: ArtifactStore | null;
  log?: Pick<Logger, "warn" | "error">;
  /** Notifications per call (default 20). */
  batchSize?: number;
  /** Attempts before a notification is marked failed (default 20, about a day with the backoff). */
  maxAttempts?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  /** This replica, recorded as each lease's owner so that its death frees them at once (default: no owner). */
  claimer?: OutboundHookClaimer;
}

/** How many notifications one call delivered, rescheduled, gave up on, or skipped. */
export interface HookDeliveryReport {
  delivered: number;
  retrying: number;
  failed: number;
  skipped: number;
}

const LEASE_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 60 * 60_000;

/**
 * Queue the change-management notification for a task that reached a terminal state, due at `now`.
 * Call it in the transaction that saves that state; calling it twice for a task queues one
 * notification. Every time an outbound hook is compared with comes from the injected clock
 * (`now` here, in `deliverPendingHooks` and in its backoff), never from the database's `now()`.
 */
export async function enqueueChangeHook(sql: SqlClient, taskId: string, now: Date): Promise<void> {
  await insertOutboundHook(sql, { kind: "change", idempotencyKey: taskId, taskId, body: null, nextAt: now });
}

/** The `X-Foreman-Signature` header value: `sha256=` + hex HMAC-SHA256 of the raw body. */
export function signHookBody(body: string, secret: string): string {
  return `sha256=${createHmac("sha256", secret).update(body, "utf8").digest("hex")}`;
}

/** Wait before the next attempt: 30 s doubling per attempt, at most an hour. */
export function computeHookBackoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 30_000 * 2 ** Math.max(0, attempts - 1));
}

/** The change hook's JSON for a task: its evidence summary (null when the task is unknown). */
export async function buildChangeHookBody(
  sql: SqlClient,
  taskId: string,
  store: ArtifactStore | null,
  now: Date,
): Promise<string | null> {
  const bundle = await buildEvidenceBundle(sql, taskId, store, now);
  if (!bundle) return null;
  return JSON.stringify({
    type: "foreman.task.finished",
    taskId,
    generatedAt: bundle.generatedAt,
    summary: bundle.summary,
  });
}

/**
 * Deliver the notifications that are due: lease them, POST each (change hooks signed with
 * HMAC-SHA256, `Idempotency-Key` = task id or `checkpoint:<seq>`), and record the outcome. A failure
 * is retried with backoff on a later call, never blocks the caller, and ends as `failed` after
 * `maxAttempts`. Several replicas may call this at once; one killed mid-delivery leaves its hooks to
 * the next call of a live replica (`config.claimer`, docs/adr/0005).
 */
export async function deliverPendingHooks(
  sql: SqlClient,
  fetchFn: typeof fetch,
  now: Date,
  config: HookDeliveryConfig = {},
): Promise<HookDeliveryReport> {
  const report: HookDeliveryReport = { delivered: 0, retrying: 0, failed: 0, skipped: 0 };
  const claimed = await claimDueOutboundHooks(
    sql,
    now.toISOString(),
    new Date(now.getTime() + LEASE_MS).toISOString(),
    config.batchSize ?? 20,
    // Daily summaries share the table; src/summary/ delivers them.
    ["change", "checkpoint"],
    config.claimer,
  );
  for (const hook of claimed) {
    const outcome = await deliverOne(sql, fetchFn, now, config, hook);
    await finishOutboundHook(sql, hook.id, outcome);
    if (outcome.status === "delivered") report.delivered += 1;
    else if (outcome.status === "pending") report.retrying += 1;
    else report[outcome.status] += 1;
    if (outcome.status === "pending")
      config.log?.warn(
        { hookId: hook.id, kind: hook.kind, attempt: hook.attempts, error: outcome.error },
        "outbound hook failed; will retry",
      );
    if (outcome.status === "failed")
      config.log?.error(
        { hookId: hook.id, kind: hook.kind, attempt: hook.attempts, error: outcome.error },
        "outbound hook failed for good",
      );
  }
  return report;
}

async function deliverOne(
  sql: SqlClient,
  fetchFn: typeof fetch,
  now: Date,
  config: HookDeliveryConfig,
  hook: ClaimedOutboundHook,
): Promise<OutboundHookOutcome> {
  const url = hook.kind === "change" ? config.changeHookUrl : config.checkpointPublishUrl;
  if (!url)
    return {
      status: "skipped",
      error: `${hook.kind === "change" ? "CHANGE_HOOK_URL" : "CHECKPOINT_PUBLISH_URL"} is not set`,
    };
  let body = hook.body;
  if (body === null) {
    const built = hook.taskId ? await buildChangeHookBody(sql, hook.taskId, config.artifacts ?? null, now) : null;
    if (built === null) return { status: "failed", error: `task ${hook.taskId ?? "(none)"} does not exist` };
    body = await saveOutboundHookBody(sql, hook.id, built);
  }
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "user-agent": "foreman-compliance",
    "idempotency-key": hook.idempotencyKey,
    "x-foreman-event": hook.kind === "change" ? "task.finished" : "checkpoint",
    "x-foreman-delivery": String(hook.id),
  };
  if (hook.kind === "change" && config.changeHookSecret)
    headers["x-foreman-signature"] = signHookBody(body, config.changeHookSecret);
  let error: string;
  try {
    const response = await fetchFn(url, {
      method: "POST",
      headers,
      body,
      signal: AbortSignal.timeout(config.timeoutMs ?? 10_000),
    });
    await response.body?.cancel().catch(() => {});
    if (response.ok) return { status: "delivered", at: now.toISOString() };
    error = `the receiver answered HTTP ${response.status}`;
  } catch (caught) {
    error = `the receiver could not be reached (${(caught as Error).message})`;
  }
  if (hook.attempts >= (config.maxAttempts ?? 20)) return { status: "failed", error };
  return {
    status: "pending",
    nextAt: new Date(now.getTime() + computeHookBackoffMs(hook.attempts)).toISOString(),
    error,
  };
}
