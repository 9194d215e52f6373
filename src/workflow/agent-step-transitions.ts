import { EffectKind } from "./effects.js";
import { EventType, type EventOf } from "./events.js";
import { TaskState } from "./states.js";
import { ReasonCode, type Task } from "./task.js";
import { stop, statusComment, unchanged, type TransitionResult } from "./transition-result.js";

/** Ids the engine hands in for what a transition creates. */
export interface JobIds {
  newJobId: string;
}

/** The role of the first (and, until the pipeline, only) step. */
export const CODER = "coder";

/** Queue an agent job for a step on the branch head (the runner starts it when a container slot is free). */
export function dispatchStep(task: Task, role: string, facts: JobIds): TransitionResult {
  const baseSha = task.headSha ?? task.baseSha;
  if (baseSha === null) return stop(task, TaskState.failed, { code: ReasonCode.internalError, message: "Foreman lost track of the branch head; start again." }, task.updatedAt);
  return {
    next: { ...task, state: TaskState.awaitingAgent, step: role, jobId: facts.newJobId },
    effects: [{ kind: EffectKind.dispatchAgentJob, jobId: facts.newJobId, role, baseSha }],
  };
}


function addUsage(task: Task, usage: { durationMs: number; tokens: number; costUsd: number }): Task["usage"] {
  return { agentMs: task.usage.agentMs + usage.durationMs, tokens: task.usage.tokens + usage.tokens, costUsd: task.usage.costUsd + usage.costUsd };
}

/** The first budget a task has gone over, in words; null when within all of them. */
function findBudgetOverrun(task: Task): string | null {
  const budgets = task.config?.budgets;
  if (!budgets) return null;
  if (task.usage.agentMs > budgets.agentMinutes * 60_000) {
    return `Agents have worked ${Math.round(task.usage.agentMs / 60_000)} minutes on this task, over its budget of ${budgets.agentMinutes} minutes.`;
  }
  if (budgets.tokens !== null && task.usage.tokens > budgets.tokens) return `Agents used ${task.usage.tokens} tokens, over the task's budget of ${budgets.tokens}.`;
  if (budgets.costUsd !== null && task.usage.costUsd > budgets.costUsd) {
    return `Agents spent $${task.usage.costUsd.toFixed(2)}, over the task's budget of $${budgets.costUsd.toFixed(2)}.`;
  }
  return null;
}

const BUDGET_FIX = "Raise `budgets` in .github/foreman.yml if the work is worth it, then re-add the label.";

export function onJobFinished(task: Task, event: EventOf<typeof EventType.jobFinished>, at: string): TransitionResult {
  if (event.jobId !== task.jobId || (task.state !== TaskState.running && task.state !== TaskState.awaitingAgent)) return unchanged(task);
  // The job is over: its id is cleared so a late duplicate of this event is recognised as stale.
  const spent: Task = { ...task, jobId: null, usage: addUsage(task, event.usage), updatedAt: at };
  const overrun = findBudgetOverrun(spent);
  if (event.commitSha === null) {
    return stop(spent, TaskState.failed, {
      code: ReasonCode.agentNoChanges,
      message: `The ${task.step ?? "agent"} step finished without changing anything. Its summary: ${event.summary}`,
    }, at);
  }
  const pushed: Task = { ...spent, headSha: event.commitSha };
  if (overrun) return stop(pushed, TaskState.failed, { code: ReasonCode.budgetExceeded, message: `${overrun} ${BUDGET_FIX}` }, at);
  return { next: { ...pushed, state: TaskState.awaitingCi, reason: null }, effects: [statusComment] };
}

const CONFIG_CODES = new Set(["PROFILE_UNKNOWN", "PROFILE_INVALID", "PROFILE_SECRET_MISSING", "PROFILE_SECRET_FORBIDDEN", "IMAGE_NOT_ALLOWED"]);

export function onJobFailed(task: Task, event: EventOf<typeof EventType.jobFailed>, at: string, facts: JobIds): TransitionResult {
  if (event.jobId !== task.jobId || (task.state !== TaskState.running && task.state !== TaskState.awaitingAgent)) return unchanged(task);
  const spent: Task = { ...task, jobId: null, usage: addUsage(task, event.usage), updatedAt: at };
  if (event.code === "AGENT_STOPPED") {
    // Stopped for a freeze: the step starts over on resume, on a fresh job.
    const again = dispatchStep(spent, task.step ?? CODER, facts);
    // The comment said "an agent is working"; it now waits again (while frozen, the comment stays as it is).
    return { next: again.next, effects: [statusComment, ...again.effects] };
  }
  const detail = event.logTail ? { detail: event.logTail } : {};
  if (event.code === "BUDGET_EXCEEDED") return stop(spent, TaskState.failed, { code: ReasonCode.budgetExceeded, message: `${event.message} ${BUDGET_FIX}` }, at);
  if (CONFIG_CODES.has(event.code)) return stop(spent, TaskState.failed, { code: ReasonCode.configError, message: event.message }, at);
  // Foreman's host failed (Docker, GitHub, a lost container) after its retries: not the agent's fault.
  if (event.code.startsWith("INFRA_") || event.code === "PUSH_FAILED") {
    return stop(spent, TaskState.failed, { code: ReasonCode.infrastructureError, message: event.message, ...detail }, at);
  }
  const failed = stop(spent, TaskState.failed, { code: ReasonCode.agentFailed, message: event.message, ...detail }, at);
  if (event.code === "GUARDRAIL_REJECTED" && task.prNumber !== null) {
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

