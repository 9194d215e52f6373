import { createHash } from "node:crypto";
import { canonicalJson } from "../../chain/chain.js";
import { findActorRole } from "./find-actor-role.js";
import { postMarkedComment } from "../../github/post-marked-comment.js";
import type { Effect } from "../../workflow/effects.js";
import { EventType } from "../../workflow/events.js";
import type { Task } from "../../workflow/task.js";
import { renderCommandAnswer } from "../../github/render-command-answer.js";
import { buildEvidenceUrl, buildRepoWebUrl } from "../links.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

type AuthorizeActorPayload = Omit<Extract<Effect, { kind: "authorize_actor" }>, "kind">;
/** `commentId`, when the workflow passes the command's comment, keys the answer exactly. */
type AnswerCommandPayload = Omit<Extract<Effect, { kind: "answer_command" }>, "kind"> & { commentId?: number };

/**
 * `authorize_actor`: read the login's role on the repository. A read only; the workflow decides
 * what the role may do (`maySteerTask` in src/workflow/permissions.ts).
 */
export async function runAuthorizeActor({
  payload,
  task,
  octokit,
}: EffectInput<AuthorizeActorPayload>): Promise<EffectOutcome> {
  const role = await findActorRole(octokit, { owner: task.repo.owner, repo: task.repo.name, username: payload.login });
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
  const body = renderCommandAnswer(task, {
    answer: payload.answer,
    login: payload.login,
    command: payload.command,
    text: payload.text ?? null,
    refusalScope: payload.refusalScope ?? "task",
    jobs: input.facts.jobs,
    repoUrl: buildRepoWebUrl(input.webBaseUrl, task.repo),
    evidenceUrl: input.publicUrl ? buildEvidenceUrl(input.publicUrl, task.id) : null,
  });
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
