import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type EventOf } from "../workflow/events.js";
import { buildDedupeKey, toTaskRepo } from "./build-inbox-event.js";
import type { PullRequestReviewPayload } from "./webhook-payloads.js";

type ReviewState = EventOf<typeof EventType.pullRequestReviewSubmitted>["state"];

const REVIEW_STATES: ReadonlySet<string> = new Set<ReviewState>([
  "approved",
  "changes_requested",
  "commented",
  "dismissed",
]);

/**
 * `pull_request_review.submitted` → `pull_request_review_submitted`; a state Foreman does not know
 * → null. `lane` is the PR's lane (its task's issue lane when known), as for pull_request events.
 */
export function adaptPullRequestReviewEvent(
  deliveryId: string,
  payload: PullRequestReviewPayload,
  installationId: number,
  lane: string,
): NewInboxEvent | null {
  const repo = toTaskRepo(installationId, payload.repository);
  const { review, pull_request: pr } = payload;
  // GitHub sends lower case in webhooks and upper case in the REST API; accept both.
  const state = String(review.state).toLowerCase();
  if (!REVIEW_STATES.has(state)) return null;
  const event: EventOf<typeof EventType.pullRequestReviewSubmitted> = {
    type: EventType.pullRequestReviewSubmitted,
    repo,
    prNumber: pr.number,
    headRef: pr.head.ref,
    sender: payload.sender.login,
    reviewId: review.id,
    state: state as ReviewState,
    body: review.body ?? "",
    commitId: review.commit_id,
    senderIsBot: payload.sender.type === "Bot",
  };
  return {
    deliveryId,
    // A review is submitted once: its id is what the delivery means.
    dedupeKey: buildDedupeKey({ event: "pull_request_review.submitted", repo: repo.id, review: review.id }),
    source: "github",
    eventName: "pull_request_review.submitted",
    lane,
    event,
  };
}
