import { insertInboxEvent } from "../../db/queries/insert-inbox-event.js";
import { buildIssueLane } from "../../db/queries/issue-lane.js";
import type { TaskToReconcile } from "../../db/queries/list-tasks-to-reconcile.js";
import type { RequestClient } from "../../github/conditional-read.js";
import { listCommitCheckSuites } from "../../github/list-commit-check-suites.js";
import { buildDedupeKey } from "../../webhooks/build-inbox-event.js";
import { EventType, type EventOf } from "../../workflow/events.js";
import type { SweepRound } from "./reconcile-deps.js";

/**
 * Feed a task awaiting CI the suites of its head that completed unheard: the same
 * `check_suite_completed` event, under the same dedupe key, the check_suite webhook would have stored.
 */
export async function repairUnheardCi(round: SweepRound, client: RequestClient, task: TaskToReconcile): Promise<void> {
  if (task.state !== "awaiting_ci" || task.headSha === null) return;
  const suites = await listCommitCheckSuites(
    client,
    { owner: task.repo.owner, repo: task.repo.name, sha: task.headSha },
    round.cache,
    round.budgetFor(task.installationId),
  );
  for (const suite of suites) {
    // Foreman's own suite (its check run) is not CI; an unfinished suite has nothing to say yet.
    if (suite.status !== "completed" || suite.app.id === round.deps.appId) continue;
    const conclusion = suite.conclusion ?? "neutral";
    const event: EventOf<typeof EventType.checkSuiteCompleted> = {
      type: EventType.checkSuiteCompleted,
      repo: { installationId: task.installationId, ...task.repo },
      suiteId: suite.id,
      headSha: suite.headSha,
      headBranch: suite.headBranch,
      app: suite.app.slug,
      appId: suite.app.id,
      conclusion,
      sender: suite.app.slug,
      onDefaultBranch: false,
    };
    const stored = await insertInboxEvent(round.deps.sql, {
      deliveryId: `reconcile:check_suite.completed:${suite.id}:${conclusion}:${suite.headSha}`,
      dedupeKey: buildDedupeKey({
        event: "check_suite.completed",
        repo: task.repo.id,
        suite: suite.id,
        conclusion,
        sha: suite.headSha,
      }),
      source: "github",
      eventName: "check_suite.completed",
      lane: buildIssueLane(task.repo.id, task.issueNumber),
      event,
    });
    if (stored) {
      round.repairs.push({
        kind: "ci",
        detail: { taskId: task.id, suiteId: suite.id, app: suite.app.slug, conclusion, sha: suite.headSha },
      });
    }
  }
}
