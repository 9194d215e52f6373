import { describe, expect, it } from "vitest";
import { adaptIssueCommentEvent } from "../../../src/webhooks/adapt-issue-comment-event.js";
import { buildDedupeKey } from "../../../src/webhooks/build-inbox-event.js";
import { REPO } from "../../helpers/github-mock.js";
import { buildIssueCommentPayload } from "../../helpers/more-payloads.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";

const repo = {
  installationId: INSTALLATION_ID,
  id: REPO.id,
  owner: REPO.owner,
  name: REPO.name,
  defaultBranch: REPO.defaultBranch,
};

function adapt(payload: Record<string, any>, deliveryId = "d-1") {
  return adaptIssueCommentEvent(deliveryId, payload as never, INSTALLATION_ID);
}

describe("adaptIssueCommentEvent", () => {
  it("turns a command on an issue into command_received in the issue's lane", () => {
    const payload = buildIssueCommentPayload({
      body: "Thanks!\n/foreman status\n",
      issueNumber: 5,
      title: "Fix it",
      commentId: 700,
      sender: "bob",
    });
    expect(adapt(payload)).toEqual({
      deliveryId: "d-1",
      dedupeKey: buildDedupeKey({ event: "issue_comment.created", repo: REPO.id, comment: 700 }),
      source: "github",
      eventName: "issue_comment.created",
      lane: `repo:${REPO.id}#5`,
      event: {
        type: "command_received",
        repo,
        issue: { number: 5, title: "Fix it" },
        sender: "bob",
        command: "status",
        commentId: 700,
        onPullRequest: false,
      },
    });
  });

  it("a retry on the issue carries the issue's text, which a task it starts keeps as its snapshot", () => {
    const payload = buildIssueCommentPayload({ body: "/foreman retry", issueNumber: 5, title: "Fix it" });
    payload.issue.body = "The login page loops.";
    payload.issue.updated_at = "2026-02-03T04:05:06Z";
    expect(adapt(payload)?.event).toMatchObject({
      issue: {
        number: 5,
        title: "Fix it",
        snapshot: { title: "Fix it", body: "The login page loops.", updatedAt: "2026-02-03T04:05:06Z" },
      },
    });
  });

  it("puts a command on a PR in the PR's own lane (the handler swaps in its task's lane)", () => {
    const stored = adapt(buildIssueCommentPayload({ body: "/foreman retry", issueNumber: 9, onPullRequest: true }));
    expect(stored?.lane).toBe(`repo:${REPO.id}!pr9`);
    expect(stored?.event).toMatchObject({ command: "retry", onPullRequest: true, issue: { number: 9 } });
  });

  it("ignores the documented example, which is no command", () => {
    const payload = buildIssueCommentPayload({
      body: "You are totally right! I'll get this fixed right away.",
      issueNumber: 1,
    });
    expect(adapt(payload)).toBeNull();
  });

  it("ignores bots, even when they quote a command", () => {
    expect(
      adapt(
        buildIssueCommentPayload({ body: "/foreman stop", issueNumber: 5, sender: "foreman[bot]", senderType: "Bot" }),
      ),
    ).toBeNull();
  });

  it("ignores unknown commands", () => {
    expect(adapt(buildIssueCommentPayload({ body: "/foreman dance", issueNumber: 5 }))).toBeNull();
  });

  it("keys by comment id: a redelivery is the same command, a second comment is another", () => {
    const first = adapt(buildIssueCommentPayload({ body: "/foreman status", issueNumber: 5, commentId: 1 }), "d-1");
    const again = adapt(buildIssueCommentPayload({ body: "/foreman status", issueNumber: 5, commentId: 1 }), "d-2");
    const second = adapt(buildIssueCommentPayload({ body: "/foreman status", issueNumber: 5, commentId: 2 }), "d-3");
    expect(again?.dedupeKey).toBe(first?.dedupeKey);
    expect(second?.dedupeKey).not.toBe(first?.dedupeKey);
  });
});
