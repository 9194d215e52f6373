import type { Context } from "probot";
import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type DomainEvent } from "../workflow/events.js";
import { buildDedupeKey, toTaskRepo } from "./build-inbox-event.js";

type PullRequestPayload = Context<"pull_request">["payload"];

/**
 * `pull_request.labeled|unlabeled|closed` → a domain event; other actions → null. `lane` is the
 * lane of the task's issue when the PR is known to belong to a task, so its events stay in order
 * with the issue's; the caller supplies it.
 */
export function adaptPullRequestEvent(
  deliveryId: string,
  payload: PullRequestPayload,
  installationId: number,
  lane: string,
): NewInboxEvent | null {
  const repo = toTaskRepo(installationId, payload.repository);
  const base = { repo, prNumber: payload.pull_request.number, headRef: payload.pull_request.head.ref, sender: payload.sender?.login ?? "ghost" };
  let event: DomainEvent;
  switch (payload.action) {
    case "labeled":
    case "unlabeled":
      if (!payload.label) return null;
      event = {
        type: payload.action === "labeled" ? EventType.pullRequestLabeled : EventType.pullRequestUnlabeled,
        label: payload.label.name,
        ...base,
      };
      break;
    case "closed":
      event = { type: EventType.pullRequestClosed, merged: payload.pull_request.merged === true, ...base };
      break;
    default:
      return null;
  }
  return {
    deliveryId,
    dedupeKey: buildDedupeKey({
      event: `pull_request.${payload.action}`,
      repo: repo.id,
      pr: base.prNumber,
      label: "label" in event ? event.label : null,
      at: payload.pull_request.updated_at,
    }),
    source: "github",
    eventName: `pull_request.${payload.action}`,
    lane,
    event,
  };
}

/** The lane for a PR no task is known to own. */
export function buildPullRequestLane(repoId: number, prNumber: number): string {
  return `repo:${repoId}!pr${prNumber}`;
}
