import { hasHeardLabel } from "../../db/queries/has-heard-label.js";
import { insertInboxEvent } from "../../db/queries/insert-inbox-event.js";
import { buildIssueLane } from "../../db/queries/issue-lane.js";
import type { RepositoryToReconcile } from "../../db/queries/list-repositories-to-reconcile.js";
import type { RequestClient } from "../../github/conditional-read.js";
import { findLatestLabelEvent } from "../../github/find-latest-label-event.js";
import { listLabeledIssues, type LabeledIssue } from "../../github/list-labeled-issues.js";
import { readRepository, type RepositoryFacts } from "../../github/read-repository.js";
import { buildDedupeKey, buildIssueSnapshot } from "../../webhooks/build-inbox-event.js";
import { DEFAULT_TASK_CONFIG } from "../../workflow/defaults.js";
import { EventType, type EventOf } from "../../workflow/events.js";
import type { SweepRound } from "./reconcile-deps.js";

/**
 * Give a task to each open issue of the repository that carries a trigger label Foreman never
 * heard: the same `issue_labeled` event the webhook would have stored, from the label's latest
 * `labeled` event (its sender, so the trigger check is the same), into the issue's lane.
 */
export async function repairUnheardLabels(
  round: SweepRound,
  client: RequestClient,
  repository: RepositoryToReconcile,
): Promise<void> {
  const [owner = "", name = ""] = repository.fullName.split("/");
  const budget = round.budgetFor(repository.installationId);
  const labels =
    repository.knownTriggerLabels.length > 0
      ? repository.knownTriggerLabels
      : Object.keys(DEFAULT_TASK_CONFIG.triggerLabels);
  let facts: RepositoryFacts | null = null;
  for (const label of labels) {
    const issues = await listLabeledIssues(
      client,
      { owner, repo: name, label, since: round.since },
      round.cache,
      budget,
    );
    for (const issue of issues) {
      const found = { repoId: repository.id, issueNumber: issue.number, label };
      if (await hasHeardLabel(round.deps.sql, { ...found, labeledAt: null })) continue;
      const labeled = await findLatestLabelEvent(
        client,
        { owner, repo: name, issueNumber: issue.number, label },
        round.cache,
        budget,
      );
      if (!labeled) continue;
      if (await hasHeardLabel(round.deps.sql, { ...found, labeledAt: new Date(labeled.createdAt) })) continue;
      facts ??= await readRepository(client, { owner, repo: name }, round.cache, budget);
      const stored = await storeLabelEvent(round, repository.installationId, facts, issue, label, labeled);
      if (stored) {
        round.repairs.push({
          kind: "label",
          detail: {
            repo: repository.fullName,
            issue: issue.number,
            label,
            sender: labeled.actor,
            labeledEventId: labeled.id,
          },
        });
      }
    }
  }
}

/** Store the `issue_labeled` event the webhook adapter would have, keyed by the `labeled` event so a round never doubles it. */
async function storeLabelEvent(
  round: SweepRound,
  installationId: number,
  repo: RepositoryFacts,
  issue: LabeledIssue,
  label: string,
  labeled: { id: number; actor: string; createdAt: string },
): Promise<boolean> {
  const priority = issue.labels.filter((name) => name.startsWith("priority:"));
  const event: EventOf<typeof EventType.issueLabeled> = {
    type: EventType.issueLabeled,
    label,
    repo: { installationId, id: repo.id, owner: repo.owner, name: repo.name, defaultBranch: repo.defaultBranch },
    issue: {
      number: issue.number,
      title: issue.title,
      ...(priority.length > 0 ? { labels: priority } : {}),
      snapshot: buildIssueSnapshot({ title: issue.title, body: issue.body, updated_at: issue.updatedAt }),
    },
    sender: labeled.actor,
  };
  return insertInboxEvent(round.deps.sql, {
    deliveryId: `reconcile:issues.labeled:${repo.id}:${issue.number}:${labeled.id}`,
    // The webhook's key, with the label's own time for the issue's `updated_at` at that moment.
    dedupeKey: buildDedupeKey({
      event: "issues.labeled",
      repo: repo.id,
      issue: issue.number,
      label,
      at: labeled.createdAt,
    }),
    source: "github",
    eventName: "issues.labeled",
    lane: buildIssueLane(repo.id, issue.number),
    event,
  });
}
