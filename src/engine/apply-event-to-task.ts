import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords, type NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { skipHeldEffects } from "../db/queries/skip-held-effects.js";
import { findTaskForUpdate, type TaskLookup } from "../db/queries/find-task-for-update.js";
import { cancelAgentJob } from "../db/queries/cancel-agent-job.js";
import { insertAgentJob } from "../db/queries/insert-agent-job.js";
import { insertEffects } from "../db/queries/insert-effects.js";
import { findKnownTriggerLabels } from "../db/queries/find-known-trigger-labels.js";
import { saveTask } from "../db/queries/save-task.js";
import { insertTask } from "../db/queries/insert-task.js";
import { toTask, type TaskRow } from "../db/queries/task-row.js";
import { DEFAULT_TASK_CONFIG, TRIGGER_LABEL_PREFIX } from "../workflow/defaults.js";
import { EffectKind, isInternalEffect, type Effect } from "../workflow/effects.js";
import { EventType, findEventActor, type DomainEvent } from "../workflow/events.js";
import type { Task } from "../workflow/task.js";
import { isTerminalState } from "../workflow/states.js";
import { transition } from "../workflow/transition.js";
import { isGreenConclusion } from "../workflow/ci-transitions.js";
import type { EngineDeps } from "./deps.js";
import { enqueueChangeHook } from "../compliance/change-hook.js";
import { insertCiResult } from "../db/queries/insert-ci-result.js";
import { findPreviousTriggerLabel } from "../db/queries/find-previous-trigger-label.js";
import { findWaitingTasks } from "../db/queries/find-waiting-tasks.js";
import { isRepoRed } from "../db/queries/is-repo-red.js";
import { listTaskPushes } from "../db/queries/list-task-pushes.js";
import { insertTaskEvent } from "../db/queries/insert-task-event.js";
import { buildIssueLane } from "../db/queries/issue-lane.js";
import { annotateWork } from "../telemetry/tracing.js";

/** Where an event came from, for the log and the compliance record. */
export interface EventOrigin {
  deliveryId: string;
  eventName: string;
}

function buildLookup(event: DomainEvent): TaskLookup | null {
  if ("taskId" in event) return { by: "id", taskId: event.taskId };
  if (event.type === EventType.checkSuiteCompleted || event.type === EventType.commitStatusReported) {
    return event.headBranch === null ? null : { by: "branch", repoId: event.repo.id, branch: event.headBranch };
  }
  if (event.type === EventType.commandReceived && event.onPullRequest)
    return { by: "pull_request", repoId: event.repo.id, prNumber: event.issue.number };
  if ("issue" in event) return { by: "issue", repoId: event.repo.id, issueNumber: event.issue.number };
  return { by: "pull_request", repoId: event.repo.id, prNumber: event.prNumber };
}

/** Custom trigger labels matter only for a label that could start a task and lacks the agent: prefix. */
function needsKnownLabels(event: DomainEvent): boolean {
  if (event.type === EventType.issueLabeled) return !event.label.startsWith(TRIGGER_LABEL_PREFIX);
  return event.type === EventType.issueReopened;
}

/**
 * Apply one event inside the caller's transaction: lock the task, run the pure transition, save
 * the task (compare-and-swap), queue its effects, and append the compliance records — `extra`
 * records (the action that produced the event) first, then the transition. Independent statements
 * are issued together so they travel pipelined on the transaction's connection.
 */
export async function applyEventToTask(
  tx: SqlClient,
  event: DomainEvent,
  origin: EventOrigin,
  deps: EngineDeps,
  extra: NewComplianceRecord[] = [],
  /** The task row when the caller has already locked it in this transaction. */
  lockedRow?: TaskRow,
): Promise<void> {
  const lookup = buildLookup(event);
  let row = lockedRow ?? (lookup ? await findTaskForUpdate(tx, lookup) : null);
  // A command about an issue whose task ended is answered by that task. A retry too: that task
  // confirms the sender's write access first, and only then queues the retry that starts a new one
  // (`start_retry_task`, with `authorizedRetryOf` set), so nobody else's retry creates a task row.
  if (
    !row &&
    event.type === EventType.commandReceived &&
    !event.onPullRequest &&
    event.authorizedRetryOf === undefined
  ) {
    row = await findTaskForUpdate(tx, { by: "issue_latest", repoId: event.repo.id, issueNumber: event.issue.number });
  }
  // A PR event before the task learnt its PR's number (a freeze label on the draft PR as it opened):
  // the task whose branch the PR is, if it has no other PR.
  if (!row && "headRef" in event && "prNumber" in event) {
    const byBranch = await findTaskForUpdate(tx, { by: "branch", repoId: event.repo.id, branch: event.headRef });
    if (byBranch && (byBranch.pr_number === null || Number(byBranch.pr_number) === event.prNumber)) row = byBranch;
  }
  const task = row ? toTask(row) : null;
  const knownTriggerLabels =
    task === null && "repo" in event && needsKnownLabels(event) ? await findKnownTriggerLabels(tx, event.repo.id) : [];
  const now = deps.now();
  // Foreman's own pushes, by the commits its jobs recorded (one not recorded yet is known by its
  // sender, the app's bot: `event.byForeman`).
  const foremanPushes =
    event.type === EventType.pullRequestSynchronized && task !== null ? await listTaskPushes(tx, task.id) : [];
  // What GitHub reported is recorded whether or not it moves a task: CI results, reviews, commands.
  extra = [...extra, ...(await recordObservation(tx, event, task, deps, foremanPushes))];
  const facts = {
    newTaskId: deps.newId(),
    newJobId: deps.newId(),
    knownTriggerLabels,
    // Red mode as this task's CI sees it: only the apps its config counts (`ci.apps`).
    repoRed:
      event.type === EventType.triggerChecked && task !== null
        ? await isRepoRed(tx, task.repo.id, event.config?.ci.apps ?? DEFAULT_TASK_CONFIG.ci.apps)
        : false,
    foremanPushes,
    previousTriggerLabel:
      task === null && event.type === EventType.commandReceived && event.command === "retry"
        ? await findPreviousTriggerLabel(tx, event.repo.id, event.issue.number)
        : null,
  };
  const { next, effects } = transition(task, event, now, facts);
  if (next !== null)
    annotateWork({ taskId: next.id }, { "foreman.from": task?.state ?? "none", "foreman.to": next.state });
  if (next === null || (next === task && effects.length === 0)) {
    if (extra.length > 0) await appendComplianceRecords(tx, extra);
    return;
  }
  deps.log.info(
    // deliveryId (the GitHub delivery behind it) comes from the correlation scope; this names the inbox row.
    {
      taskId: next.id,
      inboxDeliveryId: origin.deliveryId,
      event: event.type,
      from: task?.state ?? null,
      to: next.state,
    },
    "task transition",
  );
  const record: NewComplianceRecord = {
    taskId: next.id,
    kind: "task.transition",
    actor: findEventActor(event),
    payload: {
      event: event.type,
      eventName: origin.eventName,
      deliveryId: origin.deliveryId,
      from: task?.state ?? null,
      to: next.state,
      resumeState: next.resumeState,
      effects: effects.map((effect) => effect.kind),
      reason: next.reason,
      // What the trigger check decided (authorized, refused, not_a_trigger), on the record that decided it.
      ...(event.type === EventType.triggerChecked ? { triggerVerdict: next.triggerVerdict } : {}),
    },
    createdAt: now,
  };
  const outbox = effects.filter((effect) => !isInternalEffect(effect));
  const saved = next === task ? null : next;
  // A task that ends drops what it had queued — before its own closing effects are queued — and,
  // if it ever started, its evidence summary is queued for the change-management hook (durably
  // retried; once per task). A task whose trigger was never authorised is noise to such a system.
  const ended = isTerminalState(next.state) && (task === null || !isTerminalState(task.state));
  if (ended && task !== null) await skipHeldEffects(tx, next.id);
  await Promise.all([
    task === null || row === null
      ? insertTask(tx, next)
      : saved === null
        ? null
        : saveTask(tx, next, Number(row.version)),
    insertEffects(tx, next.id, outbox, deps.displayDelayMs ?? 0),
    ...effects.filter(isInternalEffect).map((effect) => applyInternalEffect(tx, next, effect, deps)),
    appendComplianceRecords(tx, [...extra, record]),
  ]);
  if (ended && next.triggerVerdict === "authorized") await enqueueChangeHook(tx, next.id, now);
}

/** Effects that only touch Foreman's own tables run in the transition's transaction: exactly once, with it. */
async function applyInternalEffect(
  tx: SqlClient,
  task: Task,
  effect: Extract<
    Effect,
    { kind: "dispatch_agent_job" | "cancel_agent_job" | "schedule_ci_wait" | "start_retry_task" }
  >,
  deps: EngineDeps,
): Promise<void> {
  if (effect.kind === EffectKind.startRetryTask) {
    // The retry, confirmed, goes back into the issue's lane: with no active task it starts one.
    // Keyed by the ended task, so it is queued once however many retries were confirmed.
    const event: DomainEvent = {
      type: EventType.commandReceived,
      repo: task.repo,
      issue: effect.issue,
      sender: effect.sender,
      command: "retry",
      commentId: effect.commentId,
      onPullRequest: false,
      authorizedRetryOf: task.id,
    };
    const id = `retry:${task.id}`;
    const lane = buildIssueLane(task.repo.id, task.issueNumber);
    await insertTaskEvent(
      tx,
      { deliveryId: id, dedupeKey: id, source: "effect", eventName: event.type, lane, event },
      { applyNow: false },
    );
    return;
  }
  if (effect.kind === EffectKind.cancelAgentJob) {
    deps.onJobCancelled?.(effect.jobId);
    return cancelAgentJob(tx, effect.jobId);
  }
  if (effect.kind === EffectKind.scheduleCiWait) {
    // A timer is a delayed event in the task's own lane, so it never holds up the issue's events.
    const event: DomainEvent = { type: EventType.ciWaitExpired, taskId: task.id, sha: effect.sha };
    const id = `timer:ci:${task.id}:${effect.sha}`;
    const timer = {
      deliveryId: id,
      dedupeKey: id,
      source: "effect" as const,
      eventName: event.type,
      lane: `timer:${task.id}`,
      event,
    };
    await insertTaskEvent(tx, timer, { delayMs: effect.afterMs, applyNow: false });
    return;
  }
  // A role may have its own agent (`roles: { reviewer: { agent: … } }`); else the repo's, else the operator's.
  const profile = task.config?.roles?.[effect.role]?.agent ?? task.config?.agent ?? deps.defaultAgent;
  return insertAgentJob(tx, { id: effect.jobId, taskId: task.id, role: effect.role, profile, baseSha: effect.baseSha });
}

/**
 * Record what GitHub reported, in the same transaction: every completed check suite (and the default
 * branch's CI for red mode, waking waiting tasks when it turns green), every review, every command.
 */
async function recordObservation(
  tx: SqlClient,
  event: DomainEvent,
  task: Task | null,
  deps: EngineDeps,
  foremanPushes: readonly string[],
): Promise<NewComplianceRecord[]> {
  const createdAt = deps.now();
  switch (event.type) {
    case EventType.checkSuiteCompleted: {
      const onHead = task !== null && task.headSha === event.headSha;
      await insertCiResult(tx, {
        repoId: event.repo.id,
        taskId: task?.id ?? null,
        suiteId: event.suiteId,
        headSha: event.headSha,
        headBranch: event.headBranch,
        app: event.app,
        conclusion: event.conclusion,
        // Foreman's own suites (its check runs') are never the default branch's CI.
        onDefaultBranch: event.onDefaultBranch === true && event.appId !== deps.appId,
      });
      if (event.onDefaultBranch === true && event.appId !== deps.appId && isGreenConclusion(event.conclusion)) {
        // A waiting task starts when the CI its config counts is green again on the default branch.
        for (const waiting of await findWaitingTasks(tx, event.repo.id)) {
          if (waiting.ciApps.includes(event.app) && !(await isRepoRed(tx, event.repo.id, waiting.ciApps))) {
            const green: DomainEvent = { type: EventType.repoTurnedGreen, taskId: waiting.id };
            const id = `green:${waiting.id}:${event.suiteId}`;
            // Another task's lane: queued for its own transaction (this one holds only its own task's lock).
            const lane = buildIssueLane(event.repo.id, waiting.issueNumber);
            await insertTaskEvent(
              tx,
              { deliveryId: id, dedupeKey: id, source: "effect", eventName: green.type, lane, event: green },
              { applyNow: false },
            );
          }
        }
      }
      return [
        {
          taskId: task?.id ?? null,
          kind: "ci.suite_completed",
          actor: event.app,
          payload: {
            repoId: event.repo.id,
            suiteId: event.suiteId,
            headSha: event.headSha,
            headBranch: event.headBranch,
            app: event.app,
            conclusion: event.conclusion,
            onTaskHead: onHead,
          },
          createdAt,
        },
      ];
    }
    case EventType.pullRequestReviewSubmitted:
      return [
        {
          taskId: task?.id ?? null,
          kind: "review.submitted",
          actor: event.sender,
          payload: {
            repoId: event.repo.id,
            prNumber: event.prNumber,
            reviewId: event.reviewId,
            state: event.state,
            commitId: event.commitId,
            bot: event.senderIsBot,
          },
          createdAt,
        },
      ];
    case EventType.commandReceived:
      // A retry Foreman queued after confirming its sender was recorded when the comment came.
      if (event.authorizedRetryOf !== undefined) return [];
      return [
        {
          taskId: task?.id ?? null,
          kind: "command.received",
          actor: event.sender,
          payload: {
            repoId: event.repo.id,
            issueNumber: event.issue.number,
            command: event.command,
            commentId: event.commentId,
            onPullRequest: event.onPullRequest,
          },
          createdAt,
        },
      ];
    case EventType.pullRequestSynchronized:
      return event.byForeman === true || foremanPushes.includes(event.headSha) || task === null
        ? []
        : [
            {
              taskId: task.id,
              kind: "branch.pushed_by_human",
              actor: event.sender,
              payload: { prNumber: event.prNumber, headSha: event.headSha },
              createdAt,
            },
          ];
    default:
      return [];
  }
}
