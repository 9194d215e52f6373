import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mockGitHub, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssueCommentPayload } from "../helpers/more-payloads.js";
import { buildIssuesPayload, INSTALLATION_ID, loadExample } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// A label that is not a trigger must never make Foreman speak. When Foreman has not read a
// repository's config lately, any label makes a candidate task (so that a custom trigger label works
// the first time); until the trigger check has judged the label, whatever happens to the candidate —
// an unlabel, a close, a freeze, a command — writes nothing to GitHub and queues no change hook.
// The GitHub mock is strict: with no mock declared, any request at all fails the test.

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  await database.sql`truncate outbound_hooks`;
  // Every task that ends queues its change hook (sent or skipped later): a candidate must not queue one.
  foreman = await startTestForeman(database);
});
afterEach(async () => {
  await foreman.stop();
});

/** GitHub's own published example, as an App receives it (with the installation). */
function publishedExample(action: "labeled" | "unlabeled"): Record<string, any> {
  return {
    ...loadExample("issues", action),
    installation: { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" },
  };
}

/** Deliver webhooks together, as a burst: all are stored before the worker looks at any. */
async function deliverAtOnce(...deliveries: Array<[string, Record<string, any>]>): Promise<void> {
  await foreman.worker.stop();
  for (const [name, payload] of deliveries) await foreman.receive(name, payload);
  await foreman.worker.start();
  await foreman.settle();
}

async function tasks() {
  return database.sql`select state, trigger_label, trigger_verdict, reason->>'code' as code from tasks order by created_at`;
}

async function transitionsRecorded(): Promise<string[]> {
  const rows =
    await database.sql`select payload->>'event' as event, payload->>'to' as "to" from compliance_records where kind = 'task.transition' order by seq`;
  return rows.map((row) => `${row.event} → ${row.to}`);
}

async function hooksQueued(): Promise<number> {
  const [row] = await database.sql`select count(*)::int as n from outbound_hooks`;
  return Number(row?.n);
}

describe("a candidate task writes nothing to GitHub", () => {
  test("GitHub's published issues.labeled + issues.unlabeled examples (`bug`), at once: no request to GitHub at all, and the records are kept", async () => {
    const github = mockGitHub();
    await deliverAtOnce(["issues", publishedExample("labeled")], ["issues", publishedExample("unlabeled")]);

    expect(github.requests).toEqual([]);
    expect(await tasks()).toMatchObject([
      { state: "cancelled", trigger_label: "bug", trigger_verdict: "pending", code: "AGENT_LABEL_REMOVED" },
    ]);
    expect(await transitionsRecorded()).toEqual(["issue_labeled → queued", "issue_unlabeled → cancelled"]);
    // The queued trigger check was dropped with the task: it never ran.
    expect(await database.sql`select kind, status from effects`).toMatchObject([
      { kind: "authorize_trigger", status: "skipped" },
    ]);
    expect(await hooksQueued()).toBe(0);
  });

  test("an agent label added and removed at once: no request either (the label was never judged)", async () => {
    const github = mockGitHub();
    await deliverAtOnce(
      ["issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 })],
      [
        "issues",
        buildIssuesPayload({
          action: "unlabeled",
          label: "agent:ready",
          issueNumber: 1,
          updatedAt: "2019-05-15T15:21:00Z",
        }),
      ],
    );
    expect(github.requests).toEqual([]);
    expect(await tasks()).toMatchObject([{ state: "cancelled", trigger_verdict: "pending" }]);
  });

  test("a candidate frozen, then closed: no frozen comment, no stopped comment", async () => {
    const github = mockGitHub();
    await deliverAtOnce(
      ["issues", buildIssuesPayload({ action: "labeled", label: "bug", issueNumber: 1 })],
      [
        "issues",
        buildIssuesPayload({
          action: "labeled",
          label: "needs-human-review",
          issueNumber: 1,
          updatedAt: "2019-05-15T15:21:00Z",
        }),
      ],
      ["issues", buildIssuesPayload({ action: "closed", issueNumber: 1, updatedAt: "2019-05-15T15:22:00Z" })],
    );
    expect(github.requests).toEqual([]);
    expect(await transitionsRecorded()).toEqual([
      "issue_labeled → queued",
      "issue_labeled → frozen",
      "issue_closed → cancelled",
    ]);
    expect(await hooksQueued()).toBe(0);
  });

  test("/foreman commands about a candidate meet silence: no permission read, no answer", async () => {
    const github = mockGitHub();
    await deliverAtOnce(
      ["issues", buildIssuesPayload({ action: "labeled", label: "bug", issueNumber: 1 })],
      [
        "issue_comment",
        buildIssueCommentPayload({ issueNumber: 1, body: "/foreman status", commentId: 7001, sender: "octocat" }),
      ],
      [
        "issue_comment",
        buildIssueCommentPayload({ issueNumber: 1, body: "/foreman stop", commentId: 7002, sender: "octocat" }),
      ],
      [
        "issues",
        buildIssuesPayload({ action: "unlabeled", label: "bug", issueNumber: 1, updatedAt: "2019-05-15T15:21:00Z" }),
      ],
    );
    expect(github.requests).toEqual([]);
    // Once it ended as nobody's business, a later command finds no task to answer for either.
    await foreman.receive(
      "issue_comment",
      buildIssueCommentPayload({ issueNumber: 1, body: "/foreman status", commentId: 7003, sender: "octocat" }),
    );
    await foreman.settle();
    expect(github.requests).toEqual([]);
  });

  test("while Foreman is paused, a candidate that ends says nothing either", async () => {
    await foreman.stop();
    foreman = await startTestForeman(database, { env: buildTestEnv({ FOREMAN_PAUSED: "true" }) });
    const github = mockGitHub();
    await deliverAtOnce(
      ["issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 })],
      ["issues", buildIssuesPayload({ action: "closed", issueNumber: 1, updatedAt: "2019-05-15T15:21:00Z" })],
    );
    expect(github.requests).toEqual([]);
    expect(await tasks()).toMatchObject([{ state: "cancelled", code: "ISSUE_CLOSED" }]);
  });

  test("one label at a time with the worker running: the only request is the config read, then nothing for the unlabel", async () => {
    const github = mockGitHub().token().config("triggerLabels:\n  agent:ready: ready\n");
    await foreman.receive("issues", publishedExample("labeled"));
    await foreman.settle();
    expect(await tasks()).toMatchObject([
      { state: "cancelled", trigger_verdict: "not_a_trigger", code: "NOT_A_TRIGGER" },
    ]);
    await foreman.receive("issues", publishedExample("unlabeled"));
    await foreman.settle();
    // No permission read for a label the config does not list, and no write of any kind.
    expect(github.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      `GET ${REPO_PATH}/contents/.github/foreman.yml?ref=master`,
    ]);
    expect(await hooksQueued()).toBe(0);
  });
});
