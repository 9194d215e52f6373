import { DEFAULT_TASK_CONFIG, withConfigDefaults } from "./defaults.js";
import { EffectKind, type Effect } from "./effects.js";
import { type EventType, type EventOf } from "./events.js";
import { TaskState } from "./states.js";
import { ReasonCode, type CiFailure, type Task } from "./task.js";
import { CI_FIXER, dispatchStep, type JobIds } from "./dispatch-step.js";
import { display, statusComment, unchanged, type TransitionResult } from "./transition-result.js";

/** Check suite conclusions that count as green. */
const GREEN: readonly string[] = Object.freeze(["success", "neutral", "skipped"]);

/** Whether a check suite's or check's conclusion counts as green (success, neutral or skipped). */
export function isGreenConclusion(conclusion: string | null): boolean {
  return conclusion !== null && GREEN.includes(conclusion);
}

/**
 * The pipeline's work is pushed: wait for CI on the head — or act now when its CI already reported.
 * Waiting for CI is drawn on the status comment only: the check run is `in_progress` already (or,
 * on a new head, first drawn with CI's verdict), so redrawing it too would cost a write per task.
 */
export function awaitCi(task: Task): TransitionResult {
  const config = withConfigDefaults(task.config);
  const sha = task.headSha ?? task.baseSha;
  const next: Task = { ...task, state: TaskState.awaitingCi, pipeline: { ...task.pipeline, waitingCiSha: sha } };
  if (sha === null) return { next, effects: [statusComment] };
  const known = task.pipeline.ci;
  if (known !== null && known.sha === sha) {
    // CI finished on this head while the last steps (a review) ran: read its verdict now.
    return {
      next,
      effects: [statusComment, { kind: EffectKind.collectCiResult, sha, suiteId: known.suiteId, apps: config.ci.apps }],
    };
  }
  return {
    next,
    effects: [statusComment, { kind: EffectKind.scheduleCiWait, sha, afterMs: config.ci.waitMinutes * 60_000 }],
  };
}

/**
 * A check suite completed. A CI app's suite on the task's head moves the task (the engine records
 * every suite): while steps still run it is remembered; when the task waits for CI, its verdict is
 * read (the branch's required checks, failing checks, annotations, log tails; whether others still
 * run). With `ci.requiredOnly`, any app's suite on the head is a reason to read again while the
 * task waits: a required check may come from an app that is not a CI app.
 */
export function onCheckSuiteCompleted(
  task: Task,
  event: EventOf<typeof EventType.checkSuiteCompleted>,
  at: string,
): TransitionResult {
  const counted = withConfigDefaults(task.config).ci.apps.includes(event.app);
  return onCiReport(task, event.headSha, counted, event.suiteId, isGreenConclusion(event.conclusion), at);
}

/**
 * A commit status changed on a commit. A final state (success, failure, error) of a counted
 * context (`ci.statuses`) on the task's head counts like a CI app's suite; a pending one only
 * says CI runs.
 */
export function onCommitStatusReported(
  task: Task,
  event: EventOf<typeof EventType.commitStatusReported>,
  at: string,
): TransitionResult {
  if (event.state === "pending") return unchanged(task);
  const counted = matchesStatusContext(withConfigDefaults(task.config).ci.statuses, event.context);
  return onCiReport(task, event.sha, counted, null, event.state === "success", at);
}

/** Whether a status context is one the repository counts: exact, or a glob where `*` is any run of characters. */
export function matchesStatusContext(globs: readonly string[], context: string): boolean {
  return globs.some((glob) => {
    const pattern = glob.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"));
    return new RegExp(`^${pattern.join(".*")}$`).test(context);
  });
}

function onCiReport(
  task: Task,
  sha: string,
  counted: boolean,
  suiteId: number | null,
  green: boolean,
  at: string,
): TransitionResult {
  if (sha !== task.headSha) return unchanged(task);
  const config = withConfigDefaults(task.config);
  const ci = { sha, conclusion: green ? ("success" as const) : ("failure" as const), suiteId };
  if (task.state === TaskState.running || task.state === TaskState.awaitingAgent) {
    if (!counted) return unchanged(task);
    return { next: { ...task, pipeline: { ...task.pipeline, ci }, updatedAt: at }, effects: [] };
  }
  if (task.state !== TaskState.awaitingCi || (!counted && !config.ci.requiredOnly)) return unchanged(task);
  return {
    next: counted ? { ...task, pipeline: { ...task.pipeline, ci }, updatedAt: at } : { ...task, updatedAt: at },
    effects: [{ kind: EffectKind.collectCiResult, sha, suiteId, apps: config.ci.apps }],
  };
}

/** The verdict of CI on the head: green → ready for review; red → a `ci_fixer` step, or escalation when the attempts are spent. */
export function onCiResultCollected(
  task: Task,
  event: EventOf<typeof EventType.ciResultCollected>,
  at: string,
  facts: JobIds,
): TransitionResult {
  if (task.state !== TaskState.awaitingCi || event.sha !== task.headSha || event.verdict === "pending")
    return unchanged(task);
  const config = withConfigDefaults(task.config);
  const current: Task = { ...task, reason: null, updatedAt: at };
  if (event.verdict === "success") return goReady(current, null);
  if (task.pipeline.ciAttempts < config.maxCiAttempts) {
    const attempt: Task = {
      ...current,
      pipeline: { ...current.pipeline, ciAttempts: current.pipeline.ciAttempts + 1 },
    };
    const dispatched = dispatchStep(
      attempt,
      CI_FIXER,
      "ci_fix",
      { kind: "ci", sha: event.sha, failures: event.failures },
      facts,
    );
    return { next: dispatched.next, effects: [...display(dispatched.next!), ...dispatched.effects] };
  }
  return escalate(current, event.failures);
}

/** No CI suite came for the head in time: keep waiting (and say so), or go ready with a note, as the repo chose. */
export function onCiWaitExpired(
  task: Task,
  event: EventOf<typeof EventType.ciWaitExpired>,
  at: string,
): TransitionResult {
  if (
    task.state !== TaskState.awaitingCi ||
    event.sha !== task.pipeline.waitingCiSha ||
    task.pipeline.ci?.sha === event.sha
  )
    return unchanged(task);
  const config = withConfigDefaults(task.config);
  const minutes = config.ci.waitMinutes;
  if (config.ci.whenMissing === "ready") {
    return goReady(
      { ...task, updatedAt: at },
      `No CI reported on ${event.sha.slice(0, 7)} within ${minutes} minutes, so Foreman marked this PR ready without CI (\`ci.whenMissing: ready\` in .github/foreman.yml). Please test it yourself before merging.`,
    );
  }
  const next: Task = {
    ...task,
    reason: {
      code: ReasonCode.noCi,
      message: `No CI has reported on ${event.sha.slice(0, 7)} for ${minutes} minutes (CI apps: ${config.ci.apps.join(", ")}). Foreman keeps waiting; set \`ci.whenMissing: ready\` in .github/foreman.yml for repos without CI, or list your CI's app under \`ci.apps\`.`,
    },
    updatedAt: at,
  };
  return { next, effects: display(next) };
}

/** CI is green and the pipeline done: the PR leaves draft, reviewers are asked, and the task waits for a human. */
export function goReady(task: Task, note: string | null): TransitionResult {
  const config = withConfigDefaults(task.config);
  const next: Task = { ...task, state: TaskState.readyForReview, pipeline: { ...task.pipeline, feedback: null } };
  const effects: Effect[] = [];
  if (task.prNumber !== null) {
    // A note is posted by the same action that marks the PR ready, so it can never claim what has not happened.
    effects.push({ kind: EffectKind.markReadyForReview, prNumber: task.prNumber, ...(note !== null ? { note } : {}) });
    if (config.reviewers.users.length > 0 || config.reviewers.teams.length > 0) {
      effects.push({
        kind: EffectKind.requestReviewers,
        prNumber: task.prNumber,
        users: config.reviewers.users,
        teams: config.reviewers.teams,
      });
    }
  }
  return { next, effects: [...effects, ...display(next)] };
}

/** Give up on CI: the freeze label goes on the PR, and the PR says what failed and what was tried. */
export function escalate(task: Task, failures: CiFailure[]): TransitionResult {
  const config = withConfigDefaults(task.config);
  const freezeLabel = task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel;
  const names = failures.map((failure) => `\`${failure.name}\``).join(", ") || "the CI checks";
  // This round's fixer steps (a retry or a human revision starts a new round).
  const attempts = task.pipeline.ciAttempts;
  const tried = attempts === 0 ? [] : task.pipeline.steps.filter((step) => step.purpose === "ci_fix").slice(-attempts);
  const message = `CI still fails (${names}) after ${attempts} ci_fixer ${attempts === 1 ? "attempt" : "attempts"} (the limit is ${config.maxCiAttempts}), so Foreman stopped and asks a human to look.`;
  // The failures are kept: `/foreman retry` hands them to the next ci_fixer.
  const sha = task.headSha ?? "";
  const next: Task = {
    ...task,
    state: TaskState.escalated,
    reason: { code: ReasonCode.ciFailedTooOften, message },
    pipeline: { ...task.pipeline, feedback: { kind: "ci", sha, failures } },
  };
  const effects: Effect[] = [];
  if (task.prNumber !== null) {
    effects.push({ kind: EffectKind.addLabels, issueNumber: task.prNumber, labels: [freezeLabel] });
    const triedLines = tried.map(
      (step, index) =>
        `${index + 1}. ${step.status === "succeeded" ? `pushed ${step.commitSha?.slice(0, 7) ?? "nothing"}` : step.status}: ${step.summary ?? "no summary"}`,
    );
    const failureLines = failures.map((failure) => `- **${failure.name}**: ${oneLine(failure.summary, 400)}`);
    effects.push({
      kind: EffectKind.postPullRequestComment,
      prNumber: task.prNumber,
      // One comment per escalation: each escalation is about a different head (a retry's fixer or a
      // human's push moved it), so a later round says its own piece.
      marker: `foreman:escalated:${task.id}:${task.headSha ?? "none"}`,
      body: [
        "### 🙋 Foreman needs a human here",
        "",
        message,
        "",
        "**What failed**",
        ...(failureLines.length > 0 ? failureLines : ["- (no failing check details were available)"]),
        "",
        "**What Foreman tried**",
        ...(triedLines.length > 0 ? triedLines : ["(no ci_fixer step ran: `maxCiAttempts` is 0)"]),
        "",
        `Push a fix to this branch, or comment \`/foreman retry\` to give the agents another ${config.maxCiAttempts} attempts.`,
      ].join("\n"),
    });
  }
  return { next, effects: [...effects, ...display(next)] };
}

/** A check's summary on one line (title, summary and annotations run together), capped. */
function oneLine(text: string, cap: number): string {
  const flat = text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .join(" · ");
  return flat.length > cap ? `${flat.slice(0, cap - 1)}…` : flat;
}
