/**
 * How an agent step ends once its outcome is judged: step 6, the push of a code role's work as
 * one commit (never a review role's, never in shadow mode), or a failure, tried again when the
 * workflow says so (`decideJobRetry`) or else told to the task.
 */
import type { AgentJobSucceeded } from "../../agents/job-outcome.js";
import type { ClaimedAgentJob } from "../../db/queries/claim-next-agent-job.js";
import { pushChanges, type PushOutcome } from "../../github/push-changes.js";
import { recordJobPush } from "../../db/queries/record-job-push.js";
import { classifyError } from "../../resilience/errors.js";
import { isCodeRole } from "../../workflow/defaults.js";
import { decideJobRetry, JobFailureCode } from "../../workflow/job-failure.js";
import type { Task } from "../../workflow/task.js";
import { fail, readUsage, requeue, succeed, type JobEvidence, type JobFailure } from "./record-job-outcome.js";
import type { AgentStep as Step } from "./agent-step-deps.js";

/** 6. The push: review roles only report (their workspace changes are dropped), and shadow mode never pushes. */
export async function pushWork(step: Step, outcome: AgentJobSucceeded, evidence: JobEvidence): Promise<void> {
  const { deps, job, task, octokit } = step;
  const usage = readUsage(outcome);
  if (!isCodeRole(job.role)) return succeed(deps, job, task, outcome, usage, evidence, { kind: "skipped_review_role" });
  if (task.config?.mode === "shadow")
    return succeed(deps, job, task, outcome, usage, evidence, { kind: "skipped_shadow" });
  const spent = { usage, evidence, result: outcome.result };
  let pushed: PushOutcome;
  try {
    pushed = await pushChanges(octokit, {
      owner: task.repo.owner,
      repo: task.repo.name,
      branch: task.branch!,
      expectedHeadSha: job.baseSha,
      message: buildCommitMessage(task, job, outcome.result.title, outcome.result.summary),
      ownTrailer: buildJobTrailer(job),
      changes: outcome.changes,
      // Known as Foreman's own push when GitHub reports it (not by the sender being a bot).
      recordCommit: (commitSha) => recordJobPush(deps.engine.database.sql, job.id, commitSha),
    });
  } catch (error) {
    const failure = classifyError(error);
    return endInFailure(
      step,
      { code: JobFailureCode.pushFailed, message: failure.message, ...spent },
      failure.retryable,
    );
  }
  if (pushed.kind === "conflict") {
    // A human pushed meanwhile: their commit is kept and the step runs again on top of it.
    const failure = { code: JobFailureCode.branchMoved, message: pushed.message, ...spent };
    return endInFailure(step, failure, false, pushed.actualHeadSha);
  }
  if (pushed.kind === "branch_missing") {
    return fail(deps, job, task, { code: JobFailureCode.branchMissing, message: pushed.message, ...spent });
  }
  if (pushed.kind === "pushed") deps.engine.log.info({ jobId: job.id, path: pushed.path }, "agent job pushed");
  const disposition =
    pushed.kind === "no_changes"
      ? { kind: "no_changes" as const }
      : pushed.kind === "pushed"
        ? { kind: pushed.kind, commitSha: pushed.commitSha, path: pushed.path }
        : { kind: pushed.kind, commitSha: pushed.commitSha };
  return succeed(deps, job, task, outcome, usage, evidence, disposition);
}

/** A failure: tried again when the workflow says so (`decideJobRetry`), else the job ends and the task is told. */
export async function endInFailure(
  { deps, job, task }: Step,
  failure: JobFailure,
  transient: boolean,
  newHeadSha: string | null = null,
): Promise<void> {
  const decision = decideJobRetry(
    { code: failure.code, transient, newHeadSha },
    { attempt: job.attempt, maxAttempts: deps.maxAttempts, baseSha: job.baseSha },
  );
  if (decision.retry) return requeue(deps, job, decision.baseSha, failure.message);
  return fail(deps, job, task, failure);
}

function buildCommitMessage(task: Task, job: ClaimedAgentJob, title: string | undefined, summary: string): string {
  const subject = (title ?? `${job.role}: ${task.issueTitle}`).split("\n")[0]!.slice(0, 72);
  return `${subject}\n\n${summary.slice(0, 4000)}\n\nForeman-Task: ${task.id}\n${buildJobTrailer(job)}`;
}

// The commit message's last line: by it a second push of the same job knows the first one's commit.
function buildJobTrailer(job: ClaimedAgentJob): string {
  return `Foreman-Job: ${job.id}`;
}
