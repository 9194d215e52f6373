import fc from "fast-check";
import { createRequire } from "node:module";
import { describe, expect, test } from "vitest";
import type { NewInboxEvent } from "../../src/db/queries/insert-inbox-event.js";
import { adaptCheckSuiteEvent } from "../../src/webhooks/adapt-check-suite-event.js";
import {
  adaptInstallationEvent,
  adaptInstallationRepositoriesEvent,
} from "../../src/webhooks/adapt-installation-event.js";
import { adaptIssueCommentEvent } from "../../src/webhooks/adapt-issue-comment-event.js";
import { adaptIssuesEvent } from "../../src/webhooks/adapt-issues-event.js";
import { adaptPullRequestEvent } from "../../src/webhooks/adapt-pull-request-event.js";
import { adaptPullRequestReviewEvent } from "../../src/webhooks/adapt-pull-request-review-event.js";
import { adaptStatusEvent, listStatusBranches } from "../../src/webhooks/adapt-status-event.js";
import {
  CheckSuitePayload,
  InstallationPayload,
  InstallationRepositoriesPayload,
  IssueCommentPayload,
  IssuesPayload,
  parseWebhookPayload,
  PullRequestPayload,
  PullRequestReviewPayload,
  StatusPayload,
} from "../../src/webhooks/webhook-payloads.js";
import { applyJsonMutations, checkProperty, jsonMutations } from "./fuzz-settings.js";

// Webhook payloads from GitHub's documented examples, mutated (fields dropped, replaced by
// arbitrary JSON), through the same parse and adapter a handler runs: the outcome is an inbox
// event, "not for Foreman" (null), or a drop with a reason; never a throw.

const require = createRequire(import.meta.url);
const groups: Array<{
  name: string;
  examples: unknown[];
}> = require("@octokit/webhooks-examples/api.github.com/index.json");

/** What a handler makes of a delivery: the parse, then the adapter. */
type Outcome = { dropped: string } | NewInboxEvent | null;

const INSTALLATION = 4242;
const LANE = "lane:fuzz";

const ADAPTERS: Record<string, { actions: Array<string | null>; adapt: (payload: unknown) => Outcome }> = {
  issues: {
    actions: ["labeled", "unlabeled", "closed", "reopened"],
    adapt: (payload) => run(parseWebhookPayload(IssuesPayload, payload), (p) => adaptIssuesEvent("d", p, INSTALLATION)),
  },
  pull_request: {
    actions: ["labeled", "unlabeled", "closed", "synchronize"],
    adapt: (payload) =>
      run(parseWebhookPayload(PullRequestPayload, payload), (p) => adaptPullRequestEvent("d", p, INSTALLATION, LANE)),
  },
  pull_request_review: {
    actions: ["submitted"],
    adapt: (payload) =>
      run(parseWebhookPayload(PullRequestReviewPayload, payload), (p) =>
        adaptPullRequestReviewEvent("d", p, INSTALLATION, LANE),
      ),
  },
  check_suite: {
    actions: ["completed"],
    adapt: (payload) =>
      run(parseWebhookPayload(CheckSuitePayload, payload), (p) => adaptCheckSuiteEvent("d", p, INSTALLATION, LANE)),
  },
  status: {
    actions: [null],
    adapt: (payload) =>
      run(parseWebhookPayload(StatusPayload, payload), (p) =>
        adaptStatusEvent("d", p, INSTALLATION, { headBranch: listStatusBranches(p)[0] ?? null, lane: LANE }),
      ),
  },
  issue_comment: {
    actions: ["created"],
    adapt: (payload) =>
      run(parseWebhookPayload(IssueCommentPayload, payload), (p) => adaptIssueCommentEvent("d", p, INSTALLATION)),
  },
  installation: {
    actions: ["created", "deleted", "suspend", "unsuspend", "new_permissions_accepted"],
    adapt: (payload) => run(parseWebhookPayload(InstallationPayload, payload), (p) => adaptInstallationEvent("d", p)),
  },
  installation_repositories: {
    actions: ["added", "removed"],
    adapt: (payload) =>
      run(parseWebhookPayload(InstallationRepositoriesPayload, payload), (p) =>
        adaptInstallationRepositoriesEvent("d", p),
      ),
  },
};

function run<T>(parsed: { ok: true; payload: T } | { ok: false; reason: string }, adapt: (payload: T) => Outcome) {
  return parsed.ok ? adapt(parsed.payload) : { dropped: parsed.reason };
}

function listExamples(event: string, actions: Array<string | null>): unknown[] {
  const examples = groups.find((group) => group.name === event)?.examples ?? [];
  return examples.filter((example) => actions.includes((example as { action?: string }).action ?? null));
}

/** An outcome is one of the three, and an event is whole: the fields the inbox insert needs, as JSON. */
function expectWellFormed(outcome: Outcome): void {
  if (outcome === null) return;
  if ("dropped" in outcome) {
    expect(outcome.dropped).toMatch(/\S/);
    return;
  }
  expect(outcome).toMatchObject({
    deliveryId: "d",
    dedupeKey: expect.stringMatching(/^(meaning|delivery):/),
    source: "github",
    eventName: expect.any(String),
    lane: expect.any(String),
    event: { type: expect.any(String) },
  });
  expect(JSON.parse(JSON.stringify(outcome))).toEqual(outcome);
}

describe.each(Object.entries(ADAPTERS))("the %s adapter on mutated payloads", (event, { actions, adapt }) => {
  const examples = listExamples(event, actions);

  test("every documented example is read, not dropped", () => {
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      const outcome = adapt(example);
      expect(outcome !== null && "dropped" in outcome ? outcome.dropped : "read").toBe("read");
    }
  });

  test("a mutated example is an event, null or a drop with a reason, never a throw", () => {
    checkProperty(
      fc.property(fc.constantFrom(...examples), jsonMutations, (example, mutations) => {
        expectWellFormed(adapt(applyJsonMutations(example, mutations)));
      }),
      150,
    );
  });

  test("any JSON at all is an event, null or a drop, never a throw", () => {
    checkProperty(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (payload) => {
        expectWellFormed(adapt(payload));
      }),
      50,
    );
  });
});
