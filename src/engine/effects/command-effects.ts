import { createHash } from "node:crypto";
import { canonicalJson } from "../../chain/chain.js";
import { findSenderRole } from "../../github/find-sender-role.js";
import { postMarkedComment } from "../../github/post-marked-comment.js";
import { DEFAULT_TASK_CONFIG } from "../../workflow/defaults.js";
import type { Effect } from "../../workflow/effects.js";
import { EventType } from "../../workflow/events.js";
import type { TaskState } from "../../workflow/states.js";
import type { StepPurpose, Task } from "../../workflow/task.js";
import { listJobLogTokens } from "../../db/queries/list-job-log-tokens.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

type AuthorizeActorPayload = Omit<Extract<Effect, { kind: "authorize_actor" }>, "kind">;
/** `commentId`, when the workflow passes the command's comment, keys the answer exactly. */
type AnswerCommandPayload = Omit<Extract<Effect, { kind: "answer_command" }>, "kind"> & { commentId?: number };

const STATE_WORDS: Record<TaskState, string> = {
  queued: "queued: Foreman is checking the label's sender and the repository's settings",
  waiting: "waiting: the default branch's CI is red, and only bugfix tasks start until it is green again",
  preparing: "preparing the branch and the draft pull request",
  awaiting_agent: "waiting for a free agent slot",
  running: "an agent is working",
  awaiting_ci: "waiting for CI on the latest push",
  ready_for_review: "ready for a human's review",
  escalated: "handed to a human: CI stayed red after Foreman's attempts (`/foreman retry` tries again)",
  frozen: "frozen",
  merged: "done: the pull request was merged",
  closed: "stopped: the pull request was closed without merging",
  completed: "completed in shadow mode: the agents ran and nothing was pushed",
  cancelled: "stopped",
  failed: "failed",
};

const PURPOSE_WORDS: Record<StepPurpose, string> = {
  pipeline: "pipeline step",
  review_revision: "revision after the reviewer agent's review",
  ci_fix: "fixing failing CI",
  human_revision: "revision after a human's review",
};

/**
 * `authorize_actor`: read the login's role on the repository. A read only; the workflow decides
 * what the role may do (`maySteerTask` in src/workflow/permissions.ts).
 */
export async function runAuthorizeActor({
  payload,
  task,
  octokit,
}: EffectInput<AuthorizeActorPayload>): Promise<EffectOutcome> {
  const role = await findSenderRole(octokit, { owner: task.repo.owner, repo: task.repo.name, username: payload.login });
  return {
    event: { type: EventType.actorChecked, taskId: task.id, login: payload.login, role, action: payload.action },
    evidence: { login: payload.login, role: role.role, permission: role.permission, action: payload.action.kind },
  };
}

/**
 * `answer_command`: one comment on the issue or PR. A refusal is marked per task and user and
 * always looked for first, so a user is refused once per task however often they ask. Other
 * answers are marked per command occurrence and looked for on a retry, so a retried effect does
 * not post twice while a later `/foreman status` still gets its own answer.
 */
export async function runAnswerCommand(input: EffectInput<AnswerCommandPayload>): Promise<EffectOutcome> {
  const { payload, task } = input;
  const refusal = payload.answer === "refusal";
  const marker = refusal
    ? // A refused `/foreman retry` after the task ended starts (and ends) a task each time: refuse once per issue then.
      payload.refusalScope === "issue"
      ? `foreman:refusal:issue:${task.repo.id}:${task.issueNumber}:${payload.login}`
      : `foreman:refusal:${task.id}:${payload.login}`
    : `foreman:answer:${task.id}:${payload.command}:${payload.login}:${buildAnswerKey(payload, task)}`;
  const body = await renderAnswer(input);
  const { commentId, created } = await postMarkedComment(input.octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    issueNumber: payload.issueNumber,
    marker,
    body,
    lookFirst: refusal || input.attempt > 1,
  });
  return { evidence: { issueNumber: payload.issueNumber, answer: payload.answer, commentId, created } };
}

// The effect row's id is not passed to executors: the command's comment id names the occurrence
// when the payload has it; otherwise the text and the task's last change do.
function buildAnswerKey(payload: AnswerCommandPayload, task: Task): string {
  if (payload.commentId !== undefined) return `c${payload.commentId}`;
  return createHash("sha256")
    .update(canonicalJson({ answer: payload.answer, text: payload.text ?? null, at: task.updatedAt }))
    .digest("hex")
    .slice(0, 12);
}

async function renderAnswer(input: EffectInput<AnswerCommandPayload>): Promise<string> {
  const { payload, task } = input;
  switch (payload.answer) {
    case "refusal":
      return renderRefusal(
        payload.login,
        payload.command,
        task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel,
        payload.refusalScope ?? "task",
      );
    case "status":
      return renderStatus(payload.login, task);
    case "explain":
      return renderExplanation(input);
    case "note":
      return payload.text ?? "";
  }
}

function renderRefusal(login: string, command: string, freezeLabel: string, scope: "task" | "issue"): string {
  const first = `@${login}, sorry: only people with write access to this repository can run \`/foreman ${command}\`, so Foreman did not act on it.`;
  if (scope === "issue") {
    // A retry after the issue's task ended: there is nothing running to freeze.
    return [
      first,
      "",
      "Please ask a maintainer to run it for you, or to add the agent label again.",
      "",
      "<sub>Foreman says this once per person on this issue; it ignores further commands from you here.</sub>",
    ].join("\n");
  }
  return [
    first,
    "",
    `If this task should stop for now, someone with triage access can add the \`${freezeLabel}\` label, which freezes it until the label is removed. Otherwise, please ask a maintainer to run the command for you.`,
    "",
    "<sub>Foreman says this once per person and task; it ignores further commands from you on this task.</sub>",
  ].join("\n");
}

function renderStatus(login: string, task: Task): string {
  const lines = [`@${login}, here is where this task stands.`, "", ...renderFacts(task)];
  if (task.reason) lines.push("", `**Why:** ${task.reason.message}`);
  return lines.join("\n");
}

// The facts status and explain share: state, step, pipeline, CI attempts, pull request.
function renderFacts(task: Task): string[] {
  const { pipeline } = task;
  const maxCiAttempts = task.config?.maxCiAttempts ?? DEFAULT_TASK_CONFIG.maxCiAttempts;
  const lines = [`- **State:** ${describeState(task)} (\`${task.state}\`)`];
  const position =
    pipeline.roles.length > 0 && pipeline.purpose === "pipeline"
      ? `, step ${pipeline.index + 1} of ${pipeline.roles.length}`
      : "";
  lines.push(
    `- **Current step:** ${task.step ? `\`${task.step}\` (${PURPOSE_WORDS[pipeline.purpose]}${position})` : "none right now"}`,
  );
  if (pipeline.roles.length > 0)
    lines.push(`- **Pipeline:** ${pipeline.roles.map((role) => `\`${role}\``).join(" → ")}`);
  lines.push(`- **CI fix attempts:** ${pipeline.ciAttempts} of ${maxCiAttempts} used`);
  if (pipeline.ci) lines.push(`- **Latest CI:** ${pipeline.ci.conclusion} on ${pipeline.ci.sha.slice(0, 7)}`);
  lines.push(`- **Pull request:** ${task.prNumber !== null ? `#${task.prNumber}` : "none yet"}`);
  return lines;
}

function describeState(task: Task): string {
  if (task.state !== "frozen") return STATE_WORDS[task.state];
  const resumes = task.resumeState ? `; it resumes in \`${task.resumeState}\` when the label is removed` : "";
  return `frozen by ${task.frozenBy ?? "someone"} on the ${task.frozenOn === "pull_request" ? "pull request" : "issue"}${resumes}`;
}

async function renderExplanation({
  payload,
  task,
  sql,
  publicUrl,
  webBaseUrl,
}: EffectInput<AnswerCommandPayload>): Promise<string> {
  const repoUrl = `${webBaseUrl}/${task.repo.owner}/${task.repo.name}`;
  const lines = [
    `@${payload.login}, here is what Foreman did on this task and why.`,
    "",
    `**Trigger:** ${task.triggeredBy} added \`${task.triggerLabel}\` to #${task.issueNumber} (task \`${task.id}\`, a ${task.type} task).`,
    "",
    ...renderFacts(task),
    "",
    "**Steps**",
    "",
  ];
  if (task.pipeline.steps.length === 0) lines.push("No agent step has run yet.");
  task.pipeline.steps.forEach((step, index) => {
    const commit = step.commitSha
      ? `pushed [${step.commitSha.slice(0, 7)}](${repoUrl}/commit/${step.commitSha})`
      : "no commit";
    const summary = step.summary ? `: ${step.summary.replace(/\s+/g, " ").trim()}` : "";
    lines.push(`${index + 1}. \`${step.role}\` (${PURPOSE_WORDS[step.purpose]}), ${step.status}, ${commit}${summary}`);
  });
  if (task.pipeline.plan)
    lines.push("", "<details><summary>The plan</summary>", "", task.pipeline.plan.trim(), "", "</details>");
  if (task.reason) lines.push("", `**Why:** ${task.reason.message}`);
  lines.push("", "**Links**", "", `- Pull request: ${task.prNumber !== null ? `#${task.prNumber}` : "none yet"}`);
  if (publicUrl !== null) {
    for (const job of await listJobLogTokens(sql, task.id))
      lines.push(
        `- [Log of the \`${job.role}\` job](${publicUrl}/jobs/${job.id}/log?token=${job.logToken}) (${job.status})`,
      );
    lines.push(`- Evidence record (needs an auditor API token): ${publicUrl}/api/compliance/tasks/${task.id}`);
  }
  return lines.join("\n");
}
