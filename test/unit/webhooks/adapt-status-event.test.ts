import { describe, expect, it } from "vitest";
import { adaptStatusEvent, listStatusBranches } from "../../../src/webhooks/adapt-status-event.js";
import { REPO } from "../../helpers/github-mock.js";
import { buildStatusPayload } from "../../helpers/more-payloads.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";

const SHA = "1111111111111111111111111111111111111111";
const target = { headBranch: "agent/5-fix", lane: `repo:${REPO.id}#5` };

function payload(state: "pending" | "success" | "failure" | "error", id = 1) {
  return buildStatusPayload({
    sha: SHA,
    context: "ci/jenkins/pr-head",
    state,
    branches: ["main", "agent/5-fix"],
    description: "Build #12",
    targetUrl: "https://jenkins.example/12",
    id,
  });
}

describe("adaptStatusEvent", () => {
  it("turns a commit status into commit_status_reported in the lane of the task whose branch holds the commit", () => {
    const stored = adaptStatusEvent("d-1", payload("failure") as never, INSTALLATION_ID, target);
    expect(stored).toMatchObject({
      deliveryId: "d-1",
      eventName: "status",
      lane: target.lane,
      event: {
        type: "commit_status_reported",
        repo: { id: REPO.id, owner: REPO.owner, name: REPO.name, installationId: INSTALLATION_ID },
        sha: SHA,
        headBranch: "agent/5-fix",
        context: "ci/jenkins/pr-head",
        state: "failure",
        description: "Build #12",
        targetUrl: "https://jenkins.example/12",
      },
    });
    expect(listStatusBranches(payload("failure") as never)).toEqual(["main", "agent/5-fix"]);
  });

  it("each state of a context on a commit is news once; a redelivery of the same status is not", () => {
    const key = (state: "pending" | "failure", id: number) =>
      adaptStatusEvent("d", payload(state, id) as never, INSTALLATION_ID, target)?.dedupeKey;
    expect(key("pending", 1)).not.toBe(key("failure", 2));
    expect(key("failure", 2)).toBe(key("failure", 2));
    // A re-run that fails again sets a new status (a new id): that is news too.
    expect(key("failure", 3)).not.toBe(key("failure", 2));
  });

  it("drops a state GitHub does not document", () => {
    const odd = { ...payload("success"), state: "cancelled" };
    expect(adaptStatusEvent("d", odd as never, INSTALLATION_ID, target)).toBeNull();
  });
});
