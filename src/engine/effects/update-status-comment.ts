import { createHash } from "node:crypto";
import { upsertStatusComment } from "../../github/upsert-status-comment.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";
import { renderTaskStatusComment } from "./render-task-surfaces.js";

/** Render the task as it is now into the issue's one status comment. */
export async function runUpsertStatusComment({
  task,
  octokit,
  statusCommentId,
  webBaseUrl,
  attempt,
  facts,
}: EffectInput<unknown>): Promise<EffectOutcome> {
  const body = renderTaskStatusComment(task, facts, webBaseUrl);
  const { commentId, created } = await upsertStatusComment(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    issueNumber: task.issueNumber,
    body,
    commentId: statusCommentId,
    lookFirst: attempt > 1,
  });
  return {
    statusCommentId: commentId,
    evidence: { commentId, created, state: task.state, bodySha256: createHash("sha256").update(body).digest("hex") },
  };
}
