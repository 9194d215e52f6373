import type { SqlClient } from "../db/client.js";
import { emitForemanEvent } from "../events/foreman-events.js";
import { appendComplianceRecords, type NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { claimNextEffect, type ClaimedEffect } from "../db/queries/claim-next-effect.js";
import { completeEffect } from "../db/queries/complete-effect.js";
import { findStatusCommentId } from "../db/queries/find-status-comment-id.js";
import { markDrawnDisplayEffects } from "../db/queries/mark-drawn-display-effects.js";
import { markEffectDone } from "../db/queries/mark-effect-done.js";
import { hasNewerStatusEffect } from "../db/queries/has-newer-status-effect.js";
import { scheduleEffectRetry } from "../db/queries/schedule-effect-retry.js";
import { saveKnownTriggerLabels } from "../db/queries/save-known-trigger-labels.js";
import { setCheckRun } from "../db/queries/set-check-run.js";
import { setStatusCommentId } from "../db/queries/set-status-comment-id.js";
import { findRowCheckRun, findRowStatusCommentId, toTask } from "../db/queries/task-row.js";
import { saveCiFailures } from "../db/queries/save-ci-failures.js";
import { storeRedactedArtifact } from "../compliance/artifacts.js";
import { EffectKind } from "../workflow/effects.js";
import { EventType, type DomainEvent } from "../workflow/events.js";
import type { Task } from "../workflow/task.js";
import { deliverTaskEvent } from "./deliver-task-event.js";
import type { EngineDeps } from "./deps.js";
import { classifyError, computeBackoffMs, ErrorCode, type Failure } from "../resilience/errors.js";
import type { EffectOutcome } from "./effects/effect-outcome.js";
import { findEffectExecutor } from "./effects/execute-effect.js";
import { loadEffectFacts } from "./effects/load-effect-facts.js";
import { holdEffectLease, type EffectLease } from "./hold-effect-lease.js";
import { runWithRequestSignal } from "../github/octokit.js";
import { traceWork } from "../telemetry/tracing.js";

const APP_ACTOR = "foreman[app]";

/** What a call to runNextEffect did: nothing, ran effects, or ran effects and queued events for the inbox. */
export type EffectRun = "none" | "ran" | "ran-and-queued";

/**
 * Lease the next runnable effect and execute it outside any transaction. Success: one transaction
 * marks it done, applies its result event to the task (or queues it behind older events of the
 * issue), appends the compliance records, and leases the task's next effect, which then runs at
 * once. A transient failure is retried later with backoff; a permanent one (or the last attempt)
 * fails the effect and tells the task, which tells the user.
 */
export async function runNextEffect(deps: EngineDeps): Promise<EffectRun> {
  const paused = (await deps.isPaused?.()) ?? false;
  let next = await trackClaim(deps, () =>
    claimNextEffect(deps.database.sql, deps.replicaId, deps.leaseMs, null, paused),
  );
  if (!next) return "none";
  let queued = false;
  while (next) {
    const step = await traceClaimedEffect(deps, next);
    queued ||= step.queued;
    next = step.next;
  }
  return queued ? "ran-and-queued" : "ran";
}

interface Step {
  next: ClaimedEffect | null;
  queued: boolean;
}

// A claim whose leased effect this process then counts as its own (`deps.localLeases`), so its
// own lease sweep never frees it while it runs.
function trackClaim<T extends ClaimedEffect | Step | null>(deps: EngineDeps, claim: () => Promise<T>): Promise<T> {
  if (!deps.localLeases) return claim();
  return deps.localLeases.trackClaim(claim, (result) => {
    if (result === null) return null;
    return "next" in result ? (result.next?.id ?? null) : result.id;
  });
}

// One effect as a span continuing the trace of the transition that queued it; its log lines name the task and the delivery behind it.
function traceClaimedEffect(deps: EngineDeps, claimed: ClaimedEffect): Promise<Step> {
  return traceWork(
    `effect ${claimed.kind}`,
    {
      correlation: { taskId: claimed.taskId, deliveryId: claimed.causeDeliveryId ?? undefined },
      attributes: {
        "foreman.effect": claimed.kind,
        "foreman.effect_id": claimed.id,
        "foreman.attempt": claimed.attempts,
      },
      parent: claimed.traceparent ?? null,
    },
    () => runClaimedEffect(deps, claimed),
  );
}

async function runClaimedEffect(deps: EngineDeps, claimed: ClaimedEffect): Promise<Step> {
  try {
    return await runOwnedEffect(deps, claimed);
  } finally {
    // Its end is recorded, or recording failed: either way this process no longer runs it.
    deps.localLeases?.forget(claimed.id);
  }
}

async function runOwnedEffect(deps: EngineDeps, claimed: ClaimedEffect): Promise<Step> {
  const { sql } = deps.database;
  const task = toTask(claimed.task);
  const log = deps.log.child({
    taskId: task.id,
    effectId: claimed.id,
    effect: claimed.kind,
    attempt: claimed.attempts,
  });

  // An older status update is pointless when a newer one is queued: it would render the same task.
  // Not so for one that ran before (its worker died mid-run): it may have created the comment or the
  // check run without recording it, and only its own retry looks first; skipped, the newer redraw
  // would create a second one.
  if (
    (claimed.kind === EffectKind.upsertStatusComment || claimed.kind === EffectKind.upsertCheckRun) &&
    claimed.attempts === 1 &&
    (await hasNewerStatusEffect(sql, task.id, claimed.id, claimed.kind))
  ) {
    await markEffectDone(sql, claimed.id);
    return { next: null, queued: false };
  }
  // Every lease counts as an attempt (the claim adds one). Past the limit, each earlier run ended
  // without recording anything (its worker died, its lease ran out, or recording it failed): a
  // poison effect. It fails now, without running again, and the task tells the user.
  if (claimed.attempts > deps.maxEffectAttempts) {
    log.error({ maxAttempts: deps.maxEffectAttempts }, "effect never finished; failing it");
    return recordFailure(deps, claimed, task, describeUnfinishedEffect(claimed, deps.maxEffectAttempts));
  }
  const lease = holdEffectLease(
    sql,
    { id: claimed.id, workerId: deps.replicaId, attempts: claimed.attempts },
    deps.leaseMs,
    log,
  );
  try {
    return await runLeasedEffect(deps, claimed, task, log, lease);
  } finally {
    lease.release();
  }
}

/**
 * Execute a leased effect and record how it ended. Once the lease is lost, another run owns the
 * effect: this one's GitHub requests have stopped, and it records nothing.
 */
async function runLeasedEffect(
  deps: EngineDeps,
  claimed: ClaimedEffect,
  task: Task,
  log: EngineDeps["log"],
  lease: EffectLease,
): Promise<Step> {
  const { sql } = deps.database;
  const stopped = (): Step => {
    log.warn({ effectId: claimed.id }, "effect lease lost; another run takes it over");
    return { next: null, queued: false };
  };
  let outcome: EffectOutcome;
  try {
    const statusCommentId =
      findRowStatusCommentId(claimed.task) ??
      (claimed.kind === EffectKind.upsertStatusComment
        ? await findStatusCommentId(sql, task.repo.id, task.issueNumber)
        : null);
    const executor = findEffectExecutor(claimed.kind);
    const octokit = await deps.github(task.repo.installationId);
    const facts = await loadEffectFacts(sql, task, executor.facts ?? [], deps.publicUrl);
    outcome = await runWithRequestSignal(lease.signal, () =>
      executor.run({
        payload: claimed.payload as never,
        task,
        octokit,
        attempt: claimed.attempts,
        statusCommentId,
        webBaseUrl: deps.webBaseUrl,
        checkRun: findRowCheckRun(claimed.task),
        publicUrl: deps.publicUrl,
        facts,
      }),
    );
  } catch (error) {
    if (lease.lost) return stopped();
    const failure = classifyError(error);
    if (failure.retryable && claimed.attempts < deps.maxEffectAttempts) {
      const delay = computeBackoffMs(claimed.attempts, deps.random, deps.retryBaseMs);
      log.warn({ err: error, code: failure.code, retryInMs: delay }, "effect failed; will retry");
      emitForemanEvent({ type: "effect.failed", kind: claimed.kind, code: failure.code, final: false });
      await scheduleEffectRetry(sql, claimed.id, failure.message, delay);
      return { next: null, queued: false };
    }
    log.error({ err: error, code: failure.code }, "effect failed for good");
    emitForemanEvent({ type: "effect.failed", kind: claimed.kind, code: failure.code, final: true });
    return recordFailure(deps, claimed, task, failure);
  }
  if (lease.lost) return stopped();
  // Outside the catch on purpose: if recording fails (the database blinked), the lease expires and
  // the effect runs again — harmless, it is idempotent — rather than failing a task whose action worked.
  const step = await recordSuccess(deps, claimed, task, outcome);
  log.debug("effect done");
  return step;
}

async function recordSuccess(
  deps: EngineDeps,
  claimed: ClaimedEffect,
  task: Task,
  outcome: EffectOutcome,
): Promise<Step> {
  // CI summaries are evidence: redacted, stored by hash, named by the record.
  const artifacts = [];
  if (outcome.event?.type === EventType.ciResultCollected && outcome.event.failures.length > 0 && deps.evidence) {
    const text = outcome.event.failures
      .map((failure) => `## ${failure.name}\n\n${failure.summary}\n\n${failure.logTail}`)
      .join("\n\n");
    const stored = await storeRedactedArtifact(
      deps.evidence.store,
      deps.database.sql,
      text,
      "ci-summary",
      deps.evidence.secrets,
    );
    artifacts.push({ sha256: stored.sha256, kind: stored.kind });
  }
  const record: NewComplianceRecord = {
    taskId: task.id,
    kind: `effect.${claimed.kind}`,
    actor: APP_ACTOR,
    payload: {
      effectId: claimed.id,
      attempt: claimed.attempts,
      ...outcome.evidence,
      ...(artifacts.length > 0 ? { artifacts } : {}),
    },
    createdAt: deps.now(),
  };
  return trackClaim(deps, () =>
    deps.database.sql.begin(async (tx) => {
      const step = await feedBack(tx, deps, claimed, task, "done", null, outcome.event ?? null, record);
      await Promise.all([
        outcome.statusCommentId !== undefined ? setStatusCommentId(tx, task.id, outcome.statusCommentId) : null,
        outcome.checkRun !== undefined ? setCheckRun(tx, task.id, outcome.checkRun) : null,
        // What this effect drew (the ready effect's one request), its transition's redraws need not draw again.
        outcome.drawn ? markDrawnDisplayEffects(tx, claimed.id, outcome.drawn) : null,
        outcome.event?.type === EventType.ciResultCollected
          ? saveCiFailures(tx, task.id, outcome.event.sha, outcome.event.failures)
          : null,
        outcome.knownTriggerLabels
          ? saveKnownTriggerLabels(
              tx,
              {
                id: task.repo.id,
                installationId: task.repo.installationId,
                fullName: `${task.repo.owner}/${task.repo.name}`,
              },
              outcome.knownTriggerLabels,
            )
          : null,
      ]);
      return {
        ...step,
        next: await claimNextEffect(tx, deps.replicaId, deps.leaseMs, task.id, (await deps.isPaused?.()) ?? false),
      };
    }),
  );
}

function describeUnfinishedEffect(claimed: ClaimedEffect, maxAttempts: number): Failure {
  const step = claimed.kind.replace(/_/g, " ");
  return {
    code: ErrorCode.internal,
    retryable: false,
    message:
      `Foreman started the step "${step}" ${maxAttempts} times and never got to record how it ended ` +
      "(its worker stopped or ran out of time, or the database refused what it tried to store).",
  };
}

async function recordFailure(deps: EngineDeps, claimed: ClaimedEffect, task: Task, failure: Failure): Promise<Step> {
  const record: NewComplianceRecord = {
    taskId: task.id,
    kind: `effect.${claimed.kind}.failed`,
    actor: APP_ACTOR,
    payload: { effectId: claimed.id, attempt: claimed.attempts, ...failure },
    createdAt: deps.now(),
  };
  const event: DomainEvent = {
    type: EventType.effectFailed,
    taskId: task.id,
    effectKind: claimed.kind,
    code: failure.code,
    message: failure.message,
  };
  return trackClaim(deps, () =>
    deps.database.sql.begin(async (tx) => {
      const step = await feedBack(tx, deps, claimed, task, "failed", failure.message, event, record);
      return {
        ...step,
        next: await claimNextEffect(tx, deps.replicaId, deps.leaseMs, task.id, (await deps.isPaused?.()) ?? false),
      };
    }),
  );
}

/**
 * Finish the effect and hand its result event to the task. When the issue's lane has nothing
 * older waiting, the event is applied right here, in the same transaction; otherwise it waits its
 * turn in the inbox. Either way the action's compliance record is appended.
 */
async function feedBack(
  tx: SqlClient,
  deps: EngineDeps,
  claimed: ClaimedEffect,
  task: Task,
  status: "done" | "failed",
  error: string | null,
  event: DomainEvent | null,
  record: NewComplianceRecord,
): Promise<Step> {
  const locked = await completeEffect(tx, { id: claimed.id, taskId: task.id, status, error });
  if (event === null) {
    await appendComplianceRecords(tx, [record]);
    return { next: null, queued: false };
  }
  const delivered = await deliverTaskEvent(tx, deps, task, event, `effect:${claimed.id}`, [record], locked);
  return { next: null, queued: delivered === "queued" };
}
