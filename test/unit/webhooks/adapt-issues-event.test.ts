import { describe, expect, it } from "vitest";
import { adaptIssuesEvent } from "../../../src/webhooks/adapt-issues-event.js";
import { buildIssuesPayload, INSTALLATION_ID } from "../../helpers/payloads.js";

function adapt(payload: Record<string, any>) {
  return adaptIssuesEvent("d-1", payload as never, INSTALLATION_ID);
}

describe("adaptIssuesEvent: the issue's text", () => {
  it("a label carries the issue's title, body and updated_at: the text the labeller looked at", () => {
    const payload = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 3, title: "Typo" });
    payload.issue.body = "The README says `teh`.";
    payload.issue.updated_at = "2026-02-03T04:05:06Z";
    expect(adapt(payload)?.event).toMatchObject({
      type: "issue_labeled",
      issue: {
        number: 3,
        snapshot: { title: "Typo", body: "The README says `teh`.", updatedAt: "2026-02-03T04:05:06Z" },
      },
    });
  });

  it("a missing body is empty text; events that start nothing carry no text", () => {
    const labeled = buildIssuesPayload({ action: "labeled", label: "agent:ready", title: "Typo" });
    labeled.issue.body = null;
    expect(adapt(labeled)?.event).toMatchObject({ issue: { snapshot: { title: "Typo", body: "" } } });
    const closed = adapt(buildIssuesPayload({ action: "closed" }));
    expect(closed?.event).toHaveProperty("issue");
    expect((closed?.event as { issue: object }).issue).not.toHaveProperty("snapshot");
  });
});
