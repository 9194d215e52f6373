import { insertInboxEvent } from "../../db/queries/insert-inbox-event.js";
import { buildIssueLane } from "../../db/queries/issue-lane.js";
import type { TaskToReconcile } from "../../db/queries/list-tasks-to-reconcile.js";
import type { RequestClient } from "../../github/conditional-read.js";
import { readPullRequestEnd } from "../../github/read-pull-request-end.js";
import { buildDedupeKey } from "../../webhooks/build-inbox-event.js";
import { EventType, type EventOf } from "../../workflow/events.js";
import type { SweepRound } from "./reconcile-deps.js";

/**
 * End a live task whose PR was merged or closed unheard: the same `pull_request_closed` event, under
 * the same dedupe key (the PR's close time standing for its `updated_at` then), the webhook would have stored.
 */
export async function repairUnheardPullRequestEnd(
  round: SweepRound,
  client: RequestClient,
  task: TaskToReconcile,
): Promise<void> {
  if (task.prNumber === null) return;
  const end = await readPullRequestEnd(
    client,
    { owner: task.repo.owner, repo: task.repo.name, prNumber: task.prNumber },
    round.cache,
    round.budgetFor(task.installationId),
  );
  if (!end) return;
  const event: EventOf<typeof EventType.pullRequestClosed> = {
    type: EventType.pullRequestClosed,
    merged: end.merged,
    mergeCommitSha: end.mergeCommitSha,
    repo: { installationId: task.installationId, ...task.repo },
    prNumber: task.prNumber,
    headRef: end.headRef,
    sender: end.closedBy,
  };
  const stored = await insertInboxEvent(round.deps.sql, {
    deliveryId: `reconcile:pull_request.closed:${task.repo.id}:${task.prNumber}:${end.closedAt}`,
    dedupeKey: buildDedupeKey({
      event: "pull_request.closed",
      repo: task.repo.id,
      pr: task.prNumber,
      label: null,
      at: end.closedAt,
    }),
    source: "github",
    eventName: "pull_request.closed",
    lane: buildIssueLane(task.repo.id, task.issueNumber),
    event,
  });
  if (stored) {
    round.repairs.push({
      kind: "pull_request",
      detail: { taskId: task.id, pr: task.prNumber, merged: end.merged, closedAt: end.closedAt },
    });
  }
}
