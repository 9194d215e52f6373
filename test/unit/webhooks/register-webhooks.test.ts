import { generateKeyPairSync, randomUUID } from "node:crypto";
import pino from "pino";
import { Probot } from "probot";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { findLaneForBranch } from "../../../src/db/queries/find-lane-for-branch.js";
import type { NewInboxEvent } from "../../../src/db/queries/insert-inbox-event.js";
import type { RepoPolicy } from "../../../src/webhooks/intake.js";
import { registerWebhooks } from "../../../src/webhooks/register-webhooks.js";
import { REPO } from "../../helpers/github-mock.js";
import {
  buildCheckSuitePayload,
  buildIssueCommentPayload,
  buildReviewPayload,
  buildSynchronizePayload,
} from "../../helpers/more-payloads.js";
import { buildIssuesPayload, buildPullRequestPayload } from "../../helpers/payloads.js";
import { createTestDatabase, resetTables, type TestDatabase } from "../../helpers/test-database.js";

const PRIVATE_KEY = generateKeyPairSync("rsa", { modulusLength: 2048 })
  .privateKey.export({ type: "pkcs1", format: "pem" })
  .toString();
const OPEN: RepoPolicy = { productionMode: false, allowedRepos: [] };

let database: TestDatabase;
let stored: NewInboxEvent[];
let deliveries = 0;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

beforeEach(async () => {
  await resetTables(database);
  stored = [];
});

/** The real handlers on a real Probot, storing into a list instead of the inbox. */
function buildApp(policy: RepoPolicy = OPEN): Probot {
  const probot = new Probot({ appId: 1, privateKey: PRIVATE_KEY, log: pino({ level: "silent" }) });
  const intake = {
    async record(event: NewInboxEvent) {
      stored.push(event);
      return true;
    },
  };
  void probot.load((app) => registerWebhooks(app, { database, intake, policy }));
  return probot;
}

async function receive(probot: Probot, name: string, payload: Record<string, any>): Promise<void> {
  deliveries += 1;
  await probot.receive({ id: `delivery-${deliveries}`, name, payload } as never);
}

/** A task row: only what the lane lookups read, plus the required columns. */
async function insertTask(fields: {
  issueNumber: number;
  branch: string | null;
  prNumber: number | null;
  state?: string;
  createdAt?: string;
}): Promise<void> {
  const at = fields.createdAt ?? "2026-01-01T00:00:00Z";
  await database.sql`
    insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title, type,
                       trigger_label, triggered_by, state, branch, pr_number, created_at, updated_at)
    values (${randomUUID()}, 4242, ${REPO.id}, ${REPO.owner}, ${REPO.name}, ${REPO.defaultBranch}, ${fields.issueNumber}, 'Fix it', 'bugfix',
            'agent:bugfix', 'alice', ${fields.state ?? "running"}, ${fields.branch}, ${fields.prNumber}, ${at}, ${at})`;
}

describe("registerWebhooks", () => {
  it("stores a push to a task's PR in the task's issue lane", async () => {
    await insertTask({ issueNumber: 5, branch: "agent/5-fix", prNumber: 9 });
    await receive(
      buildApp(),
      "pull_request",
      buildSynchronizePayload({ prNumber: 9, headRef: "agent/5-fix", headSha: "a".repeat(40) }),
    );
    expect(stored.map((event) => [event.eventName, event.lane])).toEqual([
      ["pull_request.synchronize", `repo:${REPO.id}#5`],
    ]);
  });

  it("stores a review of a PR no task owns in the PR's own lane", async () => {
    await receive(
      buildApp(),
      "pull_request_review",
      buildReviewPayload({ prNumber: 12, headRef: "feature", state: "approved" }),
    );
    expect(stored.map((event) => [event.eventName, event.lane])).toEqual([
      ["pull_request_review.submitted", `repo:${REPO.id}!pr12`],
    ]);
  });

  it("stores a review of a task's PR in the task's lane", async () => {
    await insertTask({ issueNumber: 5, branch: "agent/5-fix", prNumber: 9 });
    await receive(
      buildApp(),
      "pull_request_review",
      buildReviewPayload({ prNumber: 9, headRef: "agent/5-fix", state: "changes_requested", body: "No." }),
    );
    expect(stored[0]?.lane).toBe(`repo:${REPO.id}#5`);
  });

  it("stores a suite on a task's branch in the task's lane, and others in the repo's CI lane", async () => {
    await insertTask({ issueNumber: 5, branch: "agent/5-fix", prNumber: 9 });
    const probot = buildApp();
    await receive(probot, "check_suite", buildCheckSuitePayload({ headBranch: "agent/5-fix", suiteId: 1 }));
    await receive(probot, "check_suite", buildCheckSuitePayload({ headBranch: "main", suiteId: 2 }));
    await receive(probot, "check_suite", buildCheckSuitePayload({ headBranch: null, suiteId: 3 }));
    expect(stored.map((event) => event.lane)).toEqual([
      `repo:${REPO.id}#5`,
      `repo:${REPO.id}:ci`,
      `repo:${REPO.id}:ci`,
    ]);
  });

  it("ignores check suites that are only requested", async () => {
    const payload = buildCheckSuitePayload({ headBranch: "main" });
    payload.action = "requested";
    await receive(buildApp(), "check_suite", payload);
    expect(stored).toEqual([]);
  });

  it("stores commands in the issue's lane, or the lane of the task owning the PR", async () => {
    await insertTask({ issueNumber: 5, branch: "agent/5-fix", prNumber: 9 });
    const probot = buildApp();
    await receive(
      probot,
      "issue_comment",
      buildIssueCommentPayload({ body: "/foreman status", issueNumber: 5, commentId: 1 }),
    );
    await receive(
      probot,
      "issue_comment",
      buildIssueCommentPayload({ body: "/foreman stop", issueNumber: 9, onPullRequest: true, commentId: 2 }),
    );
    await receive(
      probot,
      "issue_comment",
      buildIssueCommentPayload({ body: "/foreman retry", issueNumber: 12, onPullRequest: true, commentId: 3 }),
    );
    await receive(probot, "issue_comment", buildIssueCommentPayload({ body: "Nice.", issueNumber: 5, commentId: 4 }));
    expect(stored.map((event) => [event.lane, (event.event as { command: string }).command])).toEqual([
      [`repo:${REPO.id}#5`, "status"],
      [`repo:${REPO.id}#5`, "stop"],
      [`repo:${REPO.id}!pr12`, "retry"],
    ]);
  });

  it("keeps the label and close handlers (with the pull_request lane lookup)", async () => {
    await insertTask({ issueNumber: 5, branch: "agent/5-fix", prNumber: 9 });
    const probot = buildApp();
    await receive(probot, "issues", buildIssuesPayload({ action: "labeled", label: "agent:bugfix", issueNumber: 5 }));
    await receive(
      probot,
      "pull_request",
      buildPullRequestPayload({ action: "closed", prNumber: 9, headRef: "agent/5-fix", merged: true }),
    );
    expect(stored.map((event) => [event.eventName, event.lane])).toEqual([
      ["issues.labeled", `repo:${REPO.id}#5`],
      ["pull_request.closed", `repo:${REPO.id}#5`],
    ]);
  });

  it("stays silent on repositories outside the allow-list and on deliveries without an installation", async () => {
    const probot = buildApp({ productionMode: true, allowedRepos: ["someone/else"] });
    await receive(probot, "issue_comment", buildIssueCommentPayload({ body: "/foreman status", issueNumber: 5 }));
    await receive(probot, "check_suite", buildCheckSuitePayload({ headBranch: "main" }));
    await receive(probot, "pull_request_review", buildReviewPayload({ prNumber: 9, headRef: "x", state: "approved" }));
    await receive(
      probot,
      "pull_request",
      buildSynchronizePayload({ prNumber: 9, headRef: "x", headSha: "a".repeat(40) }),
    );
    const open = buildApp();
    const noInstallation = buildIssueCommentPayload({ body: "/foreman status", issueNumber: 5 });
    delete noInstallation.installation;
    await receive(open, "issue_comment", noInstallation);
    expect(stored).toEqual([]);
  });
});

describe("findLaneForBranch", () => {
  it("finds the newest task on the branch in that repository", async () => {
    await insertTask({
      issueNumber: 5,
      branch: "agent/shared",
      prNumber: null,
      state: "failed",
      createdAt: "2026-01-01T00:00:00Z",
    });
    await insertTask({ issueNumber: 6, branch: "agent/shared", prNumber: null, createdAt: "2026-01-02T00:00:00Z" });
    expect(await findLaneForBranch(database.sql, REPO.id, "agent/shared")).toBe(`repo:${REPO.id}#6`);
    expect(await findLaneForBranch(database.sql, REPO.id + 1, "agent/shared")).toBeNull();
    expect(await findLaneForBranch(database.sql, REPO.id, "main")).toBeNull();
  });
});
