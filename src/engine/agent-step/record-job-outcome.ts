import { createHash } from "node:crypto";
import { emitForemanEvent } from "../../events/foreman-events.js";
import type { FileChange } from "../../agents/changes.js";
import type { AgentResult } from "../../agents/agent-result.js";
import type { AgentJobOutcome, AgentJobSucceeded } from "../../agents/job-outcome.js";
import { listRefusedDestinations, type JobEgressFacts } from "../../agents/egress/egress-log.js";
import { storeRedactedArtifact } from "../../compliance/artifacts.js";
import type { NewComplianceRecord } from "../../db/queries/append-compliance-record.js";
import type { ClaimedAgentJob } from "../../db/queries/claim-next-agent-job.js";
import { finishAgentJob, type AgentJobRecord } from "../../db/queries/finish-agent-job.js";
import { requeueAgentJob } from "../../db/queries/requeue-agent-job.js";
import { EventType, type DomainEvent, type JobReport, type JobUsage } from "../../workflow/events.js";
import { classifyJobFailure, type JobFailureCode } from "../../workflow/job-failure.js";
import type { Task } from "../../workflow/task.js";
import type { PushPath } from "../../github/push-changes.js";
import { deliverTaskEvent } from "../deliver-task-event.js";
import { computeBackoffMs } from "../../resilience/errors.js";
import type { AgentStepDeps } from "./agent-step-deps.js";

const NO_USAGE: JobUsage = { durationMs: 0, tokens: 0, costUsd: 0 };

/** What a job spent, from its run facts and the usage the agent reported. */
export function readUsage(outcome: AgentJobOutcome): JobUsage {
  const result = outcome.kind === "succeeded" ? outcome.result : outcome.result;
  const tokens = (result?.usage?.inputTokens ?? 0) + (result?.usage?.outputTokens ?? 0);
  return { durationMs: outcome.run?.durationMs ?? 0, tokens, costUsd: result?.usage?.costUsd ?? 0 };
}

/** Put the job back in the queue with backoff (infrastructure trouble, a moved branch). */
export async function requeue(
  deps: AgentStepDeps,
  job: ClaimedAgentJob,
  baseSha: string,
  reason: string,
): Promise<void> {
  const delayMs = computeBackoffMs(job.attempt, deps.engine.random, deps.engine.retryBaseMs);
  deps.engine.log.warn({ jobId: job.id, attempt: job.attempt, delayMs, reason }, "agent job will be retried");
  await requeueAgentJob(deps.engine.database.sql, { id: job.id, baseSha, delayMs, reason });
}

/** What a job ran and produced, as far as it got: kept as evidence whether it succeeded or failed. */
export interface JobEvidence {
  prompt: string;
  promptSha256: string;
  log: string | null;
  image: string | null;
  imageId?: string | null;
  exitCode: number | null;
  /** The job's egress (`network: egress`): its policy and every connection attempt through the proxy. */
  egress?: JobEgressFacts | null;
}

/** Why a job failed, and what it had produced by then (null fields: it got no further). */
export interface JobFailure {
  code: JobFailureCode;
  message: string;
  /** The last lines of the redacted log ("" when no container ran). */
  logTail?: string;
  usage?: JobUsage | null;
  evidence?: JobEvidence | null;
  /** The agent's result.json when it wrote one. */
  result?: unknown;
}

/** End the job as failed (or cancelled when it was stopped) and tell the task why. */
export async function fail(deps: AgentStepDeps, job: ClaimedAgentJob, task: Task, failure: JobFailure): Promise<void> {
  const { code, message, evidence = null, result = null } = failure;
  const spent = failure.usage ?? NO_USAGE;
  const status = classifyJobFailure(code) === "stopped" ? "cancelled" : "failed";
  const refused = listRefusedDestinations(evidence?.egress ?? undefined);
  await finish(
    deps,
    job,
    task,
    {
      type: EventType.jobFailed,
      taskId: task.id,
      jobId: job.id,
      code,
      message,
      logTail: failure.logTail ?? "",
      usage: spent,
      ...(refused.length > 0 ? { egressRefused: refused } : {}),
    },
    {
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
    },
    {
      failureCode: code,
      ...(evidence?.imageId ? { imageId: evidence.imageId } : {}),
      ...summarizeEgress(evidence?.egress),
    },
    buildEgressEvidence(evidence?.egress),
  );
}

/** How a succeeded job's change reached the branch, or why it did not. */
export type PushDisposition =
  /** `path`: which API made the commit (`commit_on_branch`: one write; `git_data`: tree, commit, ref). */
  | { kind: "pushed"; commitSha: string; path: PushPath }
  | { kind: "already_pushed"; commitSha: string }
  | { kind: "no_changes" }
  /** A planner, reviewer or security step: it reads and reports, and what it changed is dropped. */
  | { kind: "skipped_review_role" }
  /** The repo runs in shadow mode: nothing is pushed, the change is only reported. */
  | { kind: "skipped_shadow" };

/** End a job whose agent did its work: store its evidence and hand `job_finished`, with its report, to the task. */
export async function succeed(
  deps: AgentStepDeps,
  job: ClaimedAgentJob,
  task: Task,
  outcome: AgentJobSucceeded,
  usage: JobUsage,
  evidence: JobEvidence,
  push: PushDisposition,
): Promise<void> {
  const { result, changes } = outcome;
  const commitSha = "commitSha" in push ? push.commitSha : null;
  const refused = listRefusedDestinations(evidence.egress ?? undefined);
  // In shadow mode nothing reaches the branch, so the status comment shows what would have.
  const body = push.kind === "skipped_shadow" ? summarizeChanges(job.role, changes) : (result.body ?? null);
  const event: DomainEvent = {
    type: EventType.jobFinished,
    taskId: task.id,
    jobId: job.id,
    baseSha: job.baseSha,
    commitSha,
    summary: result.summary,
    usage,
    report: buildJobReport(result, body),
    ...(refused.length > 0 ? { egressRefused: refused } : {}),
  };
  await finish(
    deps,
    job,
    task,
    event,
    {
      id: job.id,
      status: "succeeded",
      image: evidence.image,
      exitCode: evidence.exitCode,
      failureCode: null,
      failureMessage: null,
      result,
      usage,
      prompt: evidence.prompt,
      promptSha256: evidence.promptSha256,
      log: evidence.log,
      pushedSha: commitSha,
    },
    {
      model: result.model ?? null,
      // What ran, by content: the image's id as the Docker engine reported it.
      imageId: outcome.run.imageId ?? null,
      changes: changes.map((change) => ({
        path: change.path,
        status: change.status,
        added: change.addedLines,
        deleted: change.deletedLines,
      })),
      push: push.kind,
      ...(push.kind === "pushed" ? { pushPath: push.path } : {}),
      ...(push.kind === "skipped_review_role" ? { ignoredChanges: changes.length } : {}),
      result: { status: result.status, summary: result.summary },
      ...summarizeEgress(evidence.egress),
    },
    [
      { kind: "agent-diff", text: renderDiffEvidence(changes) },
      { kind: "agent-result", text: JSON.stringify(result, null, 2) },
      ...buildEgressEvidence(evidence.egress),
    ],
  );
}

/** What the task learns from a finished agent beyond its summary; `body` is the agent's unless the caller has a better one. */
export function buildJobReport(result: AgentResult, body: string | null): JobReport {
  return {
    status: result.status === "needs_changes" ? "needs_changes" : "success",
    body,
    review: result.review ? { body: result.review.body, comments: result.review.comments ?? [] } : null,
  };
}

/** At most this many files are named in a shadow-mode summary; the rest are counted. */
const MAX_SUMMARY_FILES = 20;

/** A short Markdown account of a change that was not pushed: each file and its +/- lines. */
export function summarizeChanges(role: string, changes: readonly FileChange[]): string {
  if (changes.length === 0) return `Shadow mode: the ${role} step changed no files.`;
  const added = changes.reduce((sum, change) => sum + change.addedLines, 0);
  const deleted = changes.reduce((sum, change) => sum + change.deletedLines, 0);
  const files = changes.length === 1 ? "1 file" : `${changes.length} files`;
  const lines = changes
    .slice(0, MAX_SUMMARY_FILES)
    .map(
      (change) =>
        `- \`${change.path.replace(/[`\r\n]/g, "?")}\` ${change.status}${change.binary ? " (binary)" : ""} (+${change.addedLines} -${change.deletedLines})`,
    );
  if (changes.length > MAX_SUMMARY_FILES) lines.push(`- … and ${changes.length - MAX_SUMMARY_FILES} more files`);
  return [
    `Shadow mode: the ${role} step would change ${files} (+${added} -${deleted}); nothing was pushed.`,
    "",
    ...lines,
  ].join("\n");
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
  emitForemanEvent({
    type: "agent_job.finished",
    repository: `${task.repo.owner}/${task.repo.name}`,
    role: job.role,
    profile: job.profile,
    status: record.status,
    durationSeconds: readDurationMs(record.usage) / 1000,
  });
}

function readDurationMs(usage: unknown): number {
  const ms = (usage as { durationMs?: unknown } | null)?.durationMs;
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : 0;
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

/** The job record's account of its egress: what it could reach, and how many attempts went each way. */
function summarizeEgress(egress: JobEgressFacts | null | undefined): Record<string, unknown> {
  if (egress === null || egress === undefined) return {};
  const refused = listRefusedDestinations(egress);
  return {
    egress: {
      allowed: egress.allowed,
      attempts: egress.records.length,
      refused: [...new Set(refused)],
      refusedAttempts: refused.length,
    },
  };
}

/** Every connection attempt, with host, port, bytes and verdict, as an artifact of the job. */
function buildEgressEvidence(egress: JobEgressFacts | null | undefined): Array<{ kind: string; text: string }> {
  if (egress === null || egress === undefined) return [];
  return [{ kind: "agent-egress", text: JSON.stringify(egress, null, 2) }];
}
