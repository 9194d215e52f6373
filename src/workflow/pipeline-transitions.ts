import { MUST_CHANGE_ROLES, withConfigDefaults } from "./defaults.js";
import { EffectKind, type Effect } from "./effects.js";
import { classifyJobFailure, describeRefusedEgress, findBudgetOverrun, JobFailureCode } from "./job-failure.js";
import { type EventType, type EventOf } from "./events.js";
import { TaskState } from "./states.js";
import { ReasonCode, type StepFeedback, type StepRecord, type Task } from "./task.js";
import { awaitCi } from "./ci-transitions.js";
import { CODER, dispatchStep, type JobIds } from "./dispatch-step.js";
import { followPushesDuringStep } from "./pushes-during-step.js";
import { display, progress, stop, statusComment, unchanged, type TransitionResult } from "./transition-result.js";

const SUMMARY_CAP = 300;
const DETAIL_CAP = 3000;

function capDetail(text: string | null): string | null {
  if (text === null || text.trim() === "") return null;
  return text.length > DETAIL_CAP ? `${text.slice(0, DETAIL_CAP - 1)}…` : text;
}

/** Start the pipeline's first step (after the draft PR opened, or in shadow mode after reading the base). */
export function startPipeline(task: Task, facts: JobIds): TransitionResult {
  const first = task.pipeline.roles[0];
  if (first === undefined) return awaitCi(task);
  return dispatchStep({ ...task, pipeline: { ...task.pipeline, index: 0 } }, first, "pipeline", null, facts);
}

/** Set the status of the checklist line of `jobId`. */
function markStep(
  task: Task,
  jobId: string,
  status: StepRecord["status"],
  extra: Partial<StepRecord> = {},
): Task["pipeline"] {
  return {
    ...task.pipeline,
    steps: task.pipeline.steps.map((step) => (step.jobId === jobId ? { ...step, status, ...extra } : step)),
  };
}

export function onJobStarted(task: Task, event: EventOf<typeof EventType.jobStarted>, at: string): TransitionResult {
  if (task.state !== TaskState.awaitingAgent || event.jobId !== task.jobId) return unchanged(task);
  const next: Task = {
    ...task,
    state: TaskState.running,
    pipeline: markStep(task, event.jobId, "running"),
    updatedAt: at,
  };
  return { next, effects: progress(next) };
}

function addUsage(task: Task, usage: { durationMs: number; tokens: number; costUsd: number }): Task["usage"] {
  return {
    agentMs: task.usage.agentMs + usage.durationMs,
    tokens: task.usage.tokens + usage.tokens,
    costUsd: task.usage.costUsd + usage.costUsd,
  };
}

const WORK_KEPT = "The work done so far is pushed to the task's branch and stays on the draft pull request.";
const BUDGET_FIX = "Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.";

function isCurrentJob(task: Task, jobId: string): boolean {
  return jobId === task.jobId && (task.state === TaskState.running || task.state === TaskState.awaitingAgent);
}

/**
 * A step finished. Its report is acted on by role: a plan is kept and posted on the PR, a review
 * is posted as a comment-only review (and "needs changes" sends one bounded revision to the coder),
 * code was pushed. Then the pipeline moves on: the next step, or CI.
 */
export function onJobFinished(
  task: Task,
  event: EventOf<typeof EventType.jobFinished>,
  at: string,
  facts: JobIds,
): TransitionResult {
  if (!isCurrentJob(task, event.jobId)) return unchanged(task);
  const config = withConfigDefaults(task.config);
  const role = task.step ?? CODER;
  const shadow = config.mode === "shadow";
  const summary = event.summary.length > SUMMARY_CAP ? `${event.summary.slice(0, SUMMARY_CAP - 1)}…` : event.summary;
  // The job is over: its id is cleared so a late duplicate of this event is recognised as stale.
  const spent: Task = {
    ...task,
    jobId: null,
    usage: addUsage(task, event.usage),
    // In shadow mode the status comment is the only place the results go.
    pipeline: markStep(task, event.jobId, "succeeded", {
      commitSha: event.commitSha,
      summary,
      ...(shadow ? { detail: capDetail(event.report.review?.body ?? event.report.body) } : {}),
    }),
    updatedAt: at,
  };
  if (event.commitSha === null && MUST_CHANGE_ROLES.includes(role) && !shadow) {
    const ended = stop(
      spent,
      TaskState.failed,
      {
        code: ReasonCode.agentNoChanges,
        message: joinSentences(
          `The ${role} step finished without changing anything. Its summary: ${event.summary}`,
          describeRefusedEgress(event.egressRefused ?? []),
        ),
      },
      at,
    );
    ended.effects.push(...tellPrAboutRefusedEgress(task, event.jobId, event.egressRefused));
    return ended;
  }
  // The step's commit is the head, unless someone already pushed on top of it (reported first).
  const headSha = event.commitSha === null ? spent.headSha : followPushesDuringStep(task, event.commitSha);
  const pushed: Task = { ...spent, headSha, reason: null };
  const overrun = findBudgetOverrun(pushed.usage, pushed.config?.budgets, "after_step");
  if (overrun) {
    // Spent is spent: what the agents made stays on the branch, for a human to take on or finish.
    const kept = pushed.pipeline.steps.some((step) => step.commitSha !== null) ? ` ${WORK_KEPT}` : "";
    return stop(
      pushed,
      TaskState.failed,
      { code: ReasonCode.budgetExceeded, message: `${overrun}${kept} ${BUDGET_FIX}` },
      at,
    );
  }

  const effects: Effect[] = [];
  let next = pushed;
  if (role === "planner" && task.pipeline.purpose === "pipeline") {
    // The plan is kept on the task and shown in the status comment (its next redraw), not posted
    // on the PR: one GitHub write fewer per task.
    next = { ...next, pipeline: { ...next.pipeline, plan: event.report.body ?? event.summary } };
  }
  if (role === "reviewer" || role === "security") {
    const review = event.report.review ?? { body: event.report.body ?? event.summary, comments: [] };
    // The review is about the commit the reviewer read, even if a human pushed meanwhile.
    const reviewed = event.baseSha ?? next.headSha;
    if (!shadow && task.prNumber !== null && reviewed !== null) {
      effects.push({
        kind: EffectKind.postReview,
        prNumber: task.prNumber,
        commitSha: reviewed,
        marker: `foreman:review:${event.jobId}`,
        body: `### 🔎 Foreman ${role} step\n\n${review.body || event.summary}`,
        comments: review.comments,
      });
    }
    if (event.report.status === "needs_changes" && next.pipeline.reviewRevisions < config.maxReviewRevisions) {
      const feedback: StepFeedback = {
        kind: "review",
        author: `the ${role} agent`,
        body: review.body || event.summary,
        comments: review.comments,
        reviewId: null,
      };
      const revising: Task = {
        ...next,
        pipeline: { ...next.pipeline, reviewRevisions: next.pipeline.reviewRevisions + 1 },
      };
      const dispatched = dispatchStep(revising, CODER, "review_revision", feedback, facts);
      return { next: dispatched.next, effects: [...effects, ...progress(dispatched.next!), ...dispatched.effects] };
    }
  }
  const advanced = advance(next, facts);
  return { next: advanced.next, effects: [...effects, ...advanced.effects] };
}

/** After a step: the pipeline's next step, or — when it is done, or the step was a fix — CI. */
function advance(task: Task, facts: JobIds): TransitionResult {
  const { purpose, index, roles } = task.pipeline;
  if (purpose === "pipeline" || purpose === "review_revision") {
    const nextIndex = index + 1;
    const role = roles[nextIndex];
    if (role !== undefined) {
      const dispatched = dispatchStep(
        { ...task, pipeline: { ...task.pipeline, index: nextIndex } },
        role,
        "pipeline",
        null,
        facts,
      );
      return { next: dispatched.next, effects: [...progress(dispatched.next!), ...dispatched.effects] };
    }
  }
  const pending = task.pipeline.pendingFeedback;
  if (pending !== null && withConfigDefaults(task.config).mode !== "shadow") {
    // A human asked for changes while the step ran: that revision comes before CI is awaited.
    const revising: Task = {
      ...task,
      pipeline: {
        ...task.pipeline,
        pendingFeedback: null,
        humanRevisions: task.pipeline.humanRevisions + 1,
        ciAttempts: 0,
      },
    };
    const dispatched = dispatchStep(revising, CODER, "human_revision", pending, facts);
    return { next: dispatched.next, effects: [...display(dispatched.next!), ...dispatched.effects] };
  }
  if (withConfigDefaults(task.config).mode === "shadow") {
    // Nothing was pushed and no PR exists: the status comment carries the results.
    const next: Task = { ...task, state: TaskState.completed, pipeline: { ...task.pipeline, feedback: null } };
    return { next, effects: [statusComment] };
  }
  return awaitCi({ ...task, pipeline: { ...task.pipeline, feedback: null } });
}

export function onJobFailed(
  task: Task,
  event: EventOf<typeof EventType.jobFailed>,
  at: string,
  facts: JobIds,
): TransitionResult {
  if (!isCurrentJob(task, event.jobId)) return unchanged(task);
  const kind = classifyJobFailure(event.code);
  if (kind === "stopped") {
    // Stopped for a freeze (or a pause): the step starts over on resume, on a fresh job, with the same feedback.
    const stopped: Task = {
      ...task,
      jobId: null,
      usage: addUsage(task, event.usage),
      pipeline: markStep(task, event.jobId, "stopped"),
      updatedAt: at,
    };
    const again = dispatchStep(stopped, task.step ?? CODER, task.pipeline.purpose, task.pipeline.feedback, facts);
    // The comment said "an agent is working"; it now waits again (while frozen, the comment stays as it is).
    return { next: again.next, effects: [statusComment, ...again.effects] };
  }
  const spent: Task = {
    ...task,
    jobId: null,
    usage: addUsage(task, event.usage),
    pipeline: markStep(task, event.jobId, "failed"),
    updatedAt: at,
  };
  const detail = event.logTail ? { detail: event.logTail } : {};
  const ended = endFailedJob(task, spent, event, kind, at, detail);
  // The guardrails' own comment on the PR carries the message, which names them already.
  if (event.code !== JobFailureCode.guardrailRejected)
    ended.effects.push(...tellPrAboutRefusedEgress(task, event.jobId, event.egressRefused));
  return ended;
}

function endFailedJob(
  task: Task,
  spent: Task,
  event: EventOf<typeof EventType.jobFailed>,
  kind: ReturnType<typeof classifyJobFailure>,
  at: string,
  detail: { detail?: string },
): TransitionResult {
  if (kind === "budget")
    return stop(
      spent,
      TaskState.failed,
      { code: ReasonCode.budgetExceeded, message: `${event.message} ${BUDGET_FIX}` },
      at,
    );
  if (kind === "config")
    return stop(spent, TaskState.failed, { code: ReasonCode.configError, message: event.message }, at);
  // Foreman's host failed (Docker, GitHub, a lost container) after its retries: not the agent's fault.
  if (kind === "infrastructure") {
    return stop(
      spent,
      TaskState.failed,
      { code: ReasonCode.infrastructureError, message: event.message, ...detail },
      at,
    );
  }
  const failed = stop(spent, TaskState.failed, { code: ReasonCode.agentFailed, message: event.message, ...detail }, at);
  if (event.code === JobFailureCode.guardrailRejected && task.prNumber !== null) {
    // A rejected diff is explained where the reviewers look: on the PR. Nothing was pushed.
    failed.effects.push({
      kind: EffectKind.postPullRequestComment,
      prNumber: task.prNumber,
      marker: `foreman:guardrails:${event.jobId}`,
      body: `### 🛑 Foreman did not push the ${task.step ?? "agent"} step's changes\n\n${event.message}\n\nNothing was pushed to this branch.`,
    });
  }
  return failed;
}

/**
 * The PR is where reviewers look: when the egress proxy refused a job that then failed, a comment
 * there names what was refused (once per job: the marker carries its id).
 */
function tellPrAboutRefusedEgress(task: Task, jobId: string, refused: readonly string[] | undefined): Effect[] {
  const sentence = describeRefusedEgress(refused ?? []);
  if (sentence === "" || task.prNumber === null) return [];
  return [
    {
      kind: EffectKind.postPullRequestComment,
      prNumber: task.prNumber,
      marker: `foreman:egress:${jobId}`,
      body: `### 🧱 The ${task.step ?? "agent"} step was refused network access

${sentence}

The step failed; its reason is on the issue.`,
    },
  ];
}

function joinSentences(...parts: string[]): string {
  return parts.filter((part) => part !== "").join(" ");
}
