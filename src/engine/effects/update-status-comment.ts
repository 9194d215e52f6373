import { createHash } from "node:crypto";
import { renderStatusComment } from "../../github/render-status-comment.js";
import { upsertStatusComment } from "../../github/upsert-status-comment.js";
import { buildRepoWebUrl } from "../links.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";

/** Render the task as it is now into the issue's one status comment. */
export async function runUpsertStatusComment({
  task,
  octokit,
  statusCommentId,
  webBaseUrl,
  attempt,
  facts,
}: EffectInput<unknown>): Promise<EffectOutcome> {
  // The latest job that has started links its log; a task waiting for a container slot shows its place in the queue.
  const latest = facts.jobs.at(-1);
  const body = renderStatusComment(task, {
    repoUrl: buildRepoWebUrl(webBaseUrl, task.repo),
    logUrl: latest && latest.status !== "queued" ? latest.logUrl : null,
    queuePosition: task.state === "awaiting_agent" ? facts.queuePosition : null,
  });
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
