import { createHash } from "node:crypto";
import { markReadyAndDraw } from "../../github/mark-ready-and-draw.js";
import { postMarkedComment } from "../../github/post-marked-comment.js";
import { EffectKind, type Effect } from "../../workflow/effects.js";
import type { EffectInput, EffectOutcome } from "./effect-outcome.js";
import { renderTaskCheckRun, renderTaskStatusComment } from "./render-task-surfaces.js";

type MarkReadyPayload = Omit<Extract<Effect, { kind: "mark_ready_for_review" }>, "kind">;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Take the task's draft PR out of draft (nothing to do when it already is) and, in the same GraphQL
 * request, redraw the status comment and the check run from the task as stored (ADR 0017): what
 * `goReady`'s redraws would draw, one write instead of three. A surface without an id yet (or on
 * another head) is left to its redraw; so is one the batch could not draw.
 */
export async function runMarkReadyForReview({
  payload,
  task,
  octokit,
  attempt,
  statusCommentId,
  checkRun,
  publicUrl,
  webBaseUrl,
  facts,
}: EffectInput<MarkReadyPayload>): Promise<EffectOutcome> {
  const body = statusCommentId === null ? null : renderTaskStatusComment(task, facts, webBaseUrl);
  const sha = task.headSha ?? task.baseSha;
  // The known run is drawn only on the head it is on; a new head's run is created by the redraw.
  const run =
    checkRun !== null && checkRun.sha === sha
      ? renderTaskCheckRun({ ...task, prNumber: payload.prNumber }, facts, { publicUrl, webBaseUrl })
      : null;
  const result = await markReadyAndDraw(octokit, {
    owner: task.repo.owner,
    repo: task.repo.name,
    prNumber: payload.prNumber,
    statusComment: statusCommentId !== null && body !== null ? { id: statusCommentId, body } : null,
    checkRun: checkRun !== null && run !== null ? { id: checkRun.id, view: run.view } : null,
  });
  // The note (ready without CI) is said only once the PR really is ready; found again by its marker.
  const noted = payload.note
    ? await postMarkedComment(octokit, {
        owner: task.repo.owner,
        repo: task.repo.name,
        issueNumber: payload.prNumber,
        marker: `foreman:ready-note:${task.id}:${task.headSha ?? ""}`,
        body: `### ℹ️ ${payload.note}`,
        lookFirst: attempt > 1,
      })
    : null;
  const drawn: NonNullable<EffectOutcome["drawn"]> = [
    ...(result.drewStatusComment ? [EffectKind.upsertStatusComment] : []),
    ...(result.drewCheckRun ? [EffectKind.upsertCheckRun] : []),
  ];
  return {
    ...(drawn.length > 0 ? { drawn } : {}),
    evidence: {
      prNumber: payload.prNumber,
      alreadyReady: result.alreadyReady,
      ...(noted ? { noteCommentId: noted.commentId } : {}),
      // What the same request drew, as the redraws' own evidence says it.
      ...(result.drewStatusComment && body !== null
        ? { statusComment: { commentId: statusCommentId, state: task.state, bodySha256: sha256(body) } }
        : {}),
      ...(result.drewCheckRun && checkRun !== null && run !== null
        ? {
            checkRun: {
              checkRunId: checkRun.id,
              sha: checkRun.sha,
              status: run.view.status,
              conclusion: run.view.conclusion,
              recordHash: run.recordHash,
              summarySha256: sha256(run.view.summary),
            },
          }
        : {}),
      ...(result.skipped.length > 0 ? { notDrawn: result.skipped } : {}),
    },
  };
}
