import { describe, expect, it } from "vitest";
import { adaptCheckSuiteEvent, buildRepoCiLane } from "../../../src/webhooks/adapt-check-suite-event.js";
import { buildDedupeKey } from "../../../src/webhooks/build-inbox-event.js";
import { REPO } from "../../helpers/github-mock.js";
import { buildCheckSuitePayload } from "../../helpers/more-payloads.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";

// The documented check_suite example names the repository's default branch `main`.
const repo = {
  installationId: INSTALLATION_ID,
  id: REPO.id,
  owner: REPO.owner,
  name: REPO.name,
  defaultBranch: "main",
};
const SHA = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";

function adapt(payload: Record<string, any>, deliveryId = "d-1", lane = "lane") {
  return adaptCheckSuiteEvent(deliveryId, payload as never, INSTALLATION_ID, lane);
}

describe("adaptCheckSuiteEvent", () => {
  it("turns a completed suite into check_suite_completed in the given lane", () => {
    const payload = buildCheckSuitePayload({ headBranch: "agent/5-fix", conclusion: "failure", suiteId: 300 });
    expect(adapt(payload, "d-1", `repo:${REPO.id}#5`)).toEqual({
      deliveryId: "d-1",
      dedupeKey: buildDedupeKey({
        event: "check_suite.completed",
        repo: REPO.id,
        suite: 300,
        conclusion: "failure",
        sha: SHA,
      }),
      source: "github",
      eventName: "check_suite.completed",
      lane: `repo:${REPO.id}#5`,
      event: {
        type: "check_suite_completed",
        repo,
        suiteId: 300,
        headSha: SHA,
        headBranch: "agent/5-fix",
        app: "github-actions",
        appId: 29310,
        conclusion: "failure",
        sender: "Codertocat",
        onDefaultBranch: false,
      },
    });
  });

  it("keeps a null branch (a suite on a fork's or a detached commit) and counts a missing conclusion as neutral", () => {
    const event = adapt(buildCheckSuitePayload({ headBranch: null, conclusion: null }))?.event;
    expect(event).toMatchObject({ headBranch: null, conclusion: "neutral" });
  });

  it("keys by suite, conclusion and head: a re-run that ends differently is new", () => {
    const first = adapt(buildCheckSuitePayload({ headBranch: "main", conclusion: "failure", suiteId: 1 }), "d-1");
    const again = adapt(buildCheckSuitePayload({ headBranch: "main", conclusion: "failure", suiteId: 1 }), "d-2");
    const rerun = adapt(buildCheckSuitePayload({ headBranch: "main", conclusion: "success", suiteId: 1 }), "d-3");
    const otherSha = adapt(
      buildCheckSuitePayload({ headBranch: "main", conclusion: "failure", suiteId: 1, headSha: "f".repeat(40) }),
      "d-4",
    );
    expect(again?.dedupeKey).toBe(first?.dedupeKey);
    expect(new Set([first?.dedupeKey, rerun?.dedupeKey, otherSha?.dedupeKey]).size).toBe(3);
  });

  it("marks a suite a push made on the repo's own default branch, not a fork's branch of that name", () => {
    const own = buildCheckSuitePayload({ headBranch: "main", conclusion: "failure" });
    expect(adapt(own)?.event).toMatchObject({ onDefaultBranch: true });
    const notPushedHere = buildCheckSuitePayload({ headBranch: "main", conclusion: "failure" });
    notPushedHere.check_suite.after = null;
    expect(adapt(notPushedHere)?.event).toMatchObject({ onDefaultBranch: false });
    const fromFork = buildCheckSuitePayload({ headBranch: "main", conclusion: "failure" });
    fromFork.check_suite.pull_requests = [{ head: { ref: "main", repo: { id: REPO.id + 1 } } }];
    expect(adapt(fromFork)?.event).toMatchObject({ onDefaultBranch: false });
  });

  it("names the repo's CI lane", () => {
    expect(buildRepoCiLane(REPO.id)).toBe(`repo:${REPO.id}:ci`);
  });
});
