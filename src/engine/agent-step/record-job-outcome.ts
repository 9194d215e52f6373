import { createHash } from "node:crypto";
import type { FileChange } from "../../agents/changes.js";
import type { AgentJobOutcome } from "../../agents/job-outcome.js";
import { storeRedactedArtifact } from "../../compliance/artifacts.js";
import type { NewComplianceRecord } from "../../db/queries/append-compliance-record.js";
import type { ClaimedAgentJob } from "../../db/queries/claim-next-agent-job.js";
import { finishAgentJob, type AgentJobRecord } from "../../db/queries/finish-agent-job.js";
import { requeueAgentJob } from "../../db/queries/requeue-agent-job.js";
import { EventType, type DomainEvent, type JobUsage } from "../../workflow/events.js";
import type { Task } from "../../workflow/task.js";
import { deliverTaskEvent } from "../deliver-task-event.js";
import { computeBackoffMs } from "../errors.js";
import type { AgentStepDeps } from "./run-agent-step.js";

const NO_USAGE: JobUsage = { durationMs: 0, tokens: 0, costUsd: 0 };

/** What a job spent, from its run facts and the usage the agent reported. */
export function readUsage(outcome: AgentJobOutcome): JobUsage {
  const result = outcome.kind === "succeeded" ? outcome.result : outcome.result;
  const tokens = (result?.usage?.inputTokens ?? 0) + (result?.usage?.outputTokens ?? 0);
  return { durationMs: outcome.run?.durationMs ?? 0, tokens, costUsd: result?.usage?.costUsd ?? 0 };
}

/** Put the job back in the queue with backoff (infrastructure trouble, a moved branch). */
export async function requeue(deps: AgentStepDeps, job: ClaimedAgentJob, baseSha: string, reason: string): Promise<void> {
  const delayMs = computeBackoffMs(job.attempt, deps.engine.random, deps.engine.retryBaseMs);
  deps.engine.log.warn({ jobId: job.id, attempt: job.attempt, delayMs, reason }, "agent job will be retried");
  await requeueAgentJob(deps.engine.database.sql, { id: job.id, baseSha, delayMs, reason });
}

/** End the job as failed (or cancelled when stopped) and tell the task why. */
export async function fail(
  deps: AgentStepDeps,
  job: ClaimedAgentJob,
  task: Task,
  code: string,
  message: string,
  logTail: string,
  usage: JobUsage | null,
  evidence: { prompt: string; promptSha256: string; log: string | null; image: string | null; exitCode: number | null } | null,
  result: unknown = null,
): Promise<void> {
  const spent = usage ?? NO_USAGE;
  const status = code === "AGENT_STOPPED" ? "cancelled" : "failed";
  await finish(deps, job, task, { type: EventType.jobFailed, taskId: task.id, jobId: job.id, code, message, logTail, usage: spent }, {
    id: job.id,
    status,
    image: evidence?.image ?? null,
    exitCode: evidence?.exitCode ?? null,
    failureCode: code,
    failureMessage: message,
    result,
    usage: spent,
    prompt: evidence?.prompt ?? null,
    promptSha256: evidence?.promptSha256 ?? null,
    log: evidence?.log ?? null,
    pushedSha: null,
  }, { failureCode: code });
}

/** Store the job's end and evidence, and hand its event to the task, in one transaction. */
export async function finish(
  deps: AgentStepDeps,
  job: ClaimedAgentJob,
  task: Task,
  event: DomainEvent,
  record: AgentJobRecord,
  extra: Record<string, unknown>,
  evidence: Array<{ kind: string; text: string }> = [],
): Promise<void> {
  const { engine } = deps;
  // Evidence first (redacted, then hashed and stored), so the record can name it by hash.
  const texts = [
    ...(record.prompt === null ? [] : [{ kind: "agent-prompt", text: record.prompt }]),
    ...(record.log === null ? [] : [{ kind: "agent-log", text: record.log }]),
    ...evidence,
  ];
  const artifacts = [];
  for (const item of texts) {
    const stored = await storeRedactedArtifact(deps.artifacts, engine.database.sql, item.text, item.kind, deps.secrets);
    artifacts.push({ sha256: stored.sha256, kind: stored.kind });
  }
  const compliance: NewComplianceRecord = {
    taskId: task.id,
    kind: "agent_job.finished",
    actor: `agent:${job.profile}`,
    payload: {
      jobId: job.id,
      role: job.role,
      profile: job.profile,
      attempt: job.attempt,
      baseSha: job.baseSha,
      status: record.status,
      image: record.image,
      exitCode: record.exitCode,
      usage: record.usage,
      promptSha256: record.promptSha256,
      logSha256: record.log === null ? null : createHash("sha256").update(record.log).digest("hex"),
      pushedSha: record.pushedSha,
      ...extra,
      artifacts,
    },
    createdAt: engine.now(),
  };
  await engine.database.sql.begin(async (tx) => {
    await finishAgentJob(tx, record);
    await deliverTaskEvent(tx, engine, task, event, `job:${job.id}:finished`, [compliance]);
  });
}

/** A reviewable text form of the change: each file's status and, for text files, its new content. */
export function renderDiffEvidence(changes: readonly FileChange[]): string {
  return changes
    .map((change) => {
      const header = `--- ${change.status} ${change.path} (mode ${change.mode}, +${change.addedLines} -${change.deletedLines})`;
      if (change.status === "deleted" || change.binary || !change.content) return header;
      return `${header}\n${change.content.toString("utf8")}`;
    })
    .join("\n");
}
