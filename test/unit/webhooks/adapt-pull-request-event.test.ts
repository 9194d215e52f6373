import { describe, expect, it } from "vitest";
import { adaptPullRequestEvent } from "../../../src/webhooks/adapt-pull-request-event.js";
import { buildDedupeKey } from "../../../src/webhooks/build-inbox-event.js";
import { REPO } from "../../helpers/github-mock.js";
import { buildClosedPullRequestPayload, buildSynchronizePayload } from "../../helpers/more-payloads.js";
import { INSTALLATION_ID, buildPullRequestPayload } from "../../helpers/payloads.js";

const LANE = `repo:${REPO.id}#5`;
const repo = {
  installationId: INSTALLATION_ID,
  id: REPO.id,
  owner: REPO.owner,
  name: REPO.name,
  defaultBranch: REPO.defaultBranch,
};
const SHA_1 = "1111111111111111111111111111111111111111";
const SHA_2 = "2222222222222222222222222222222222222222";

function adapt(payload: Record<string, any>, deliveryId = "d-1", byForeman?: boolean) {
  return adaptPullRequestEvent(deliveryId, payload as never, INSTALLATION_ID, LANE, byForeman);
}

describe("adaptPullRequestEvent: synchronize", () => {
  it("turns a push to the PR's branch into pull_request_synchronized in the given lane", () => {
    const stored = adapt(
      buildSynchronizePayload({
        prNumber: 9,
        headRef: "agent/5-fix",
        headSha: SHA_1,
        before: SHA_2,
        sender: "alice",
        senderType: "User",
      }),
    );
    expect(stored).toEqual({
      deliveryId: "d-1",
      dedupeKey: buildDedupeKey({ event: "pull_request.synchronize", repo: REPO.id, pr: 9, head: SHA_1 }),
      source: "github",
      eventName: "pull_request.synchronize",
      lane: LANE,
      event: {
        type: "pull_request_synchronized",
        repo,
        prNumber: 9,
        headRef: "agent/5-fix",
        sender: "alice",
        headSha: SHA_1,
        before: SHA_2,
      },
    });
  });

  it("keeps a bot's push a plain push unless the caller knows its sender is Foreman's own app", () => {
    const payload = buildSynchronizePayload({
      prNumber: 9,
      headRef: "agent/5-fix",
      headSha: SHA_1,
      sender: "foreman[bot]",
      senderType: "Bot",
    });
    const stored = adapt(payload);
    expect(stored?.event).toEqual(expect.objectContaining({ sender: "foreman[bot]", headSha: SHA_1 }));
    expect(stored?.event).not.toHaveProperty("senderIsBot");
    expect(stored?.event).not.toHaveProperty("byForeman");
    const own = adapt(payload, "d-2", true);
    expect(own?.event).toEqual(expect.objectContaining({ byForeman: true, headSha: SHA_1 }));
    // The same push either way: a redelivery keys alike.
    expect(own?.dedupeKey).toBe(stored?.dedupeKey);
  });

  it("keys a push by its head SHA: a redelivery is the same event, a new push is not", () => {
    const first = adapt(buildSynchronizePayload({ prNumber: 9, headRef: "agent/5-fix", headSha: SHA_1 }), "d-1");
    const again = adapt(buildSynchronizePayload({ prNumber: 9, headRef: "agent/5-fix", headSha: SHA_1 }), "d-2");
    const next = adapt(buildSynchronizePayload({ prNumber: 9, headRef: "agent/5-fix", headSha: SHA_2 }), "d-3");
    const otherPr = adapt(buildSynchronizePayload({ prNumber: 10, headRef: "agent/5-fix", headSha: SHA_1 }), "d-4");
    expect(again?.dedupeKey).toBe(first?.dedupeKey);
    expect(new Set([first?.dedupeKey, next?.dedupeKey, otherPr?.dedupeKey]).size).toBe(3);
  });
});

describe("adaptPullRequestEvent: closed", () => {
  it("carries the merge commit of a merged PR", () => {
    const stored = adapt(
      buildClosedPullRequestPayload({ prNumber: 9, headRef: "agent/5-fix", merged: true, mergeCommitSha: SHA_2 }),
    );
    expect(stored?.event).toEqual({
      type: "pull_request_closed",
      repo,
      prNumber: 9,
      headRef: "agent/5-fix",
      sender: "Codertocat",
      merged: true,
      mergeCommitSha: SHA_2,
    });
  });

  it("has no merge commit when closed without merging, although GitHub sends a test-merge SHA", () => {
    const payload = buildClosedPullRequestPayload({ prNumber: 9, headRef: "agent/5-fix", merged: false });
    expect(payload.pull_request.merge_commit_sha).toMatch(/^[0-9a-f]{40}$/);
    expect(adapt(payload)?.event).toMatchObject({ merged: false, mergeCommitSha: null });
  });

  it("keeps the dedupe keys of labels and closes as they were", () => {
    const labeled = buildPullRequestPayload({
      action: "labeled",
      prNumber: 9,
      headRef: "agent/5-fix",
      label: "needs-human-review",
      updatedAt: "2026-01-01T00:00:00Z",
    });
    const closed = buildClosedPullRequestPayload({ prNumber: 9, headRef: "agent/5-fix", merged: true });
    expect(adapt(labeled)?.dedupeKey).toBe(
      buildDedupeKey({
        event: "pull_request.labeled",
        repo: REPO.id,
        pr: 9,
        label: "needs-human-review",
        at: "2026-01-01T00:00:00Z",
      }),
    );
    expect(adapt(closed)?.dedupeKey).toBe(
      buildDedupeKey({
        event: "pull_request.closed",
        repo: REPO.id,
        pr: 9,
        label: null,
        at: closed.pull_request.updated_at,
      }),
    );
  });

  it("ignores other actions", () => {
    const opened = buildSynchronizePayload({ prNumber: 9, headRef: "agent/5-fix", headSha: SHA_1 });
    opened.action = "opened";
    expect(adapt(opened)).toBeNull();
  });
});
