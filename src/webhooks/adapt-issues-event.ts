import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type DomainEvent } from "../workflow/events.js";
import { buildIssueLane } from "../db/queries/issue-lane.js";
import { buildDedupeKey, buildIssueSnapshot, toTaskRepo } from "./build-inbox-event.js";
import type { IssuesPayload } from "./webhook-payloads.js";

/** `issues.labeled|unlabeled|closed|reopened` → a domain event for the inbox; other actions → null. */
export function adaptIssuesEvent(
  deliveryId: string,
  payload: IssuesPayload,
  installationId: number,
): NewInboxEvent | null {
  const repo = toTaskRepo(installationId, payload.repository);
  // Only the labels the workflow reads (priority), so stored events stay small.
  const priority = (payload.issue.labels ?? []).flatMap((label) =>
    label?.name.startsWith("priority:") ? [label.name] : [],
  );
  // The text goes only on events that may start a task: it becomes the task's snapshot of the issue.
  const startsTask = payload.action === "labeled" || payload.action === "reopened";
  const issue = {
    number: payload.issue.number,
    title: payload.issue.title,
    ...(priority.length > 0 ? { labels: priority } : {}),
    ...(startsTask ? { snapshot: buildIssueSnapshot(payload.issue) } : {}),
  };
  if (payload.issue.pull_request) return null; // PR labels arrive as pull_request events too
  const base = { repo, issue, sender: payload.sender.login };
  let event: DomainEvent;
  switch (payload.action) {
    case "labeled":
    case "unlabeled":
      if (!payload.label) return null;
      event = {
        type: payload.action === "labeled" ? EventType.issueLabeled : EventType.issueUnlabeled,
        label: payload.label.name,
        ...base,
      };
      break;
    case "closed":
      event = { type: EventType.issueClosed, ...base };
      break;
    case "reopened":
      event = {
        type: EventType.issueReopened,
        labels: (payload.issue.labels ?? []).flatMap((label) => (label ? [label.name] : [])),
        ...base,
      };
      break;
    default:
      return null;
  }
  return {
    deliveryId,
    dedupeKey: buildDedupeKey({
      event: `issues.${payload.action}`,
      repo: repo.id,
      issue: issue.number,
      label: "label" in event ? event.label : null,
      at: payload.issue.updated_at,
    }),
    source: "github",
    eventName: `issues.${payload.action}`,
    lane: buildIssueLane(repo.id, issue.number),
    event,
  };
}
