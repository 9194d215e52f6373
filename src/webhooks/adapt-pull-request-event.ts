import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type DomainEvent } from "../workflow/events.js";
import { buildDedupeKey, toTaskRepo } from "./build-inbox-event.js";
import type { PullRequestPayload } from "./webhook-payloads.js";

/**
 * `pull_request.labeled|unlabeled|closed|synchronize` → a domain event; other actions → null.
 * `lane` is the lane of the task's issue when the PR is known to belong to a task, so its events
 * stay in order with the issue's; the caller supplies it, and for a `synchronize` whether its sender
 * is Foreman's own app (`byForeman`).
 */
export function adaptPullRequestEvent(
  deliveryId: string,
  payload: PullRequestPayload,
  installationId: number,
  lane: string,
  byForeman = false,
): NewInboxEvent | null {
  const repo = toTaskRepo(installationId, payload.repository);
  const pr = payload.pull_request;
  const base = { repo, prNumber: pr.number, headRef: pr.head.ref, sender: payload.sender?.login ?? "ghost" };
  let event: DomainEvent;
  // What the delivery means besides its action: a label and when, or the new head.
  let meaning: Record<string, unknown>;
  switch (payload.action) {
    case "labeled":
    case "unlabeled":
      if (!payload.label) return null;
      event = {
        type: payload.action === "labeled" ? EventType.pullRequestLabeled : EventType.pullRequestUnlabeled,
        label: payload.label.name,
        ...base,
      };
      meaning = { label: payload.label.name, at: pr.updated_at };
      break;
    case "closed": {
      const merged = pr.merged === true;
      event = {
        type: EventType.pullRequestClosed,
        merged,
        mergeCommitSha: merged ? (pr.merge_commit_sha ?? null) : null,
        ...base,
      };
      meaning = { label: null, at: pr.updated_at };
      break;
    }
    case "synchronize":
      // A push to the PR's branch: the same head SHA means the same push, however often delivered.
      event = {
        type: EventType.pullRequestSynchronized,
        headSha: pr.head.sha,
        ...(payload.before ? { before: payload.before } : {}),
        ...(byForeman ? { byForeman } : {}),
        ...base,
      };
      meaning = { head: pr.head.sha };
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
      ...meaning,
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
