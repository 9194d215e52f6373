import { describe, expect, it } from "vitest";
import { adaptPullRequestReviewEvent } from "../../../src/webhooks/adapt-pull-request-review-event.js";
import { buildDedupeKey } from "../../../src/webhooks/build-inbox-event.js";
import { REPO } from "../../helpers/github-mock.js";
import { buildReviewPayload } from "../../helpers/more-payloads.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";

const LANE = `repo:${REPO.id}#5`;
const repo = {
  installationId: INSTALLATION_ID,
  id: REPO.id,
  owner: REPO.owner,
  name: REPO.name,
  defaultBranch: REPO.defaultBranch,
};

function adapt(payload: Record<string, any>, deliveryId = "d-1") {
  return adaptPullRequestReviewEvent(deliveryId, payload as never, INSTALLATION_ID, LANE);
}

describe("adaptPullRequestReviewEvent", () => {
  it("turns a submitted review into pull_request_review_submitted", () => {
    const payload = buildReviewPayload({
      prNumber: 9,
      headRef: "agent/5-fix",
      state: "changes_requested",
      body: "Please rename `x`.",
      reviewId: 77,
      sender: "bob",
    });
    expect(adapt(payload)).toEqual({
      deliveryId: "d-1",
      dedupeKey: buildDedupeKey({ event: "pull_request_review.submitted", repo: REPO.id, review: 77 }),
      source: "github",
      eventName: "pull_request_review.submitted",
      lane: LANE,
      event: {
        type: "pull_request_review_submitted",
        repo,
        prNumber: 9,
        headRef: "agent/5-fix",
        sender: "bob",
        reviewId: 77,
        state: "changes_requested",
        body: "Please rename `x`.",
        commitId: payload.review.commit_id,
        senderIsBot: false,
      },
    });
  });

  it("reads the documented example as is: a comment review without a body", () => {
    const payload = buildReviewPayload({ prNumber: 2, headRef: "changes", state: "commented" });
    expect(payload.review.body).toBeNull();
    expect(adapt(payload)?.event).toMatchObject({
      state: "commented",
      body: "",
      commitId: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
      reviewId: 237895671,
    });
  });

  it.each([
    ["APPROVED", "approved"],
    ["CHANGES_REQUESTED", "changes_requested"],
    ["Dismissed", "dismissed"],
  ])("lower-cases the state %s", (given, expected) => {
    expect(adapt(buildReviewPayload({ prNumber: 9, headRef: "agent/5-fix", state: given }))?.event).toMatchObject({
      state: expected,
    });
  });

  it("drops a state it does not know", () => {
    expect(adapt(buildReviewPayload({ prNumber: 9, headRef: "agent/5-fix", state: "pending" }))).toBeNull();
  });

  it("says when a bot reviewed (Foreman's own reviewer agent posts as the app)", () => {
    const payload = buildReviewPayload({
      prNumber: 9,
      headRef: "agent/5-fix",
      state: "commented",
      sender: "foreman[bot]",
      senderType: "Bot",
    });
    expect(adapt(payload)?.event).toMatchObject({ senderIsBot: true });
  });

  it("keys by review id: a redelivery is the same event", () => {
    const first = adapt(
      buildReviewPayload({ prNumber: 9, headRef: "agent/5-fix", state: "approved", reviewId: 1 }),
      "d-1",
    );
    const again = adapt(
      buildReviewPayload({ prNumber: 9, headRef: "agent/5-fix", state: "approved", reviewId: 1 }),
      "d-2",
    );
    const other = adapt(
      buildReviewPayload({ prNumber: 9, headRef: "agent/5-fix", state: "approved", reviewId: 2 }),
      "d-3",
    );
    expect(again?.dedupeKey).toBe(first?.dedupeKey);
    expect(other?.dedupeKey).not.toBe(first?.dedupeKey);
  });
});
