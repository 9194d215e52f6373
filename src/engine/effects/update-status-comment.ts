import { createHash } from "node:crypto";
import { renderStatusComment } from "../../github/render-status-comment.js";
import { upsertStatusComment } from "../../github/upsert-status-comment.js";
import { findQueuePosition } from "../../db/queries/find-queue-position.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

/** Render the task as it is now into the issue's one status comment. */
export async function runUpsertStatusComment({
  task,
  octokit,
  statusCommentId,
  webBaseUrl,
  attempt,
  logUrl,
  sql,
}: EffectInput<unknown>): Promise<EffectOutcome> {
  // A task waiting for a container slot shows its place in the queue.
  const queuePosition =
    task.state === "awaiting_agent" && task.jobId !== null ? await findQueuePosition(sql, task.jobId) : null;
  const body = renderStatusComment(task, webBaseUrl, logUrl, queuePosition);
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
