import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { insertTask } from "../../src/db/queries/insert-task.js";
import { releaseReconcileLock } from "../../src/db/queries/release-reconcile-lock.js";
import { tryReconcileLock } from "../../src/db/queries/try-reconcile-lock.js";
import { upsertRepositories } from "../../src/db/queries/upsert-repositories.js";
import { makePipelineTask, HEAD } from "../unit/github/pipeline-fixtures.js";
import { mockGitHub, mockLabelToDraftPr, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssuesPayload, INSTALLATION_ID } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";
import { buildCheckSuitePayload } from "../helpers/more-payloads.js";
import { adaptCheckSuiteEvent } from "../../src/webhooks/adapt-check-suite-event.js";

// The reconciliation sweep finds what webhooks failed to tell Foreman and repairs it through the
// inbox, as the webhook would have. GitHub is strict nock; PostgreSQL is real.

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database);
});
afterEach(async () => {
  await foreman.stop();
});

const LABELED_AT = "2026-11-20T10:00:00Z";

/** The example repository, known to Foreman with `agent:ready` as its only trigger label. */
async function knowRepository(): Promise<void> {
  await upsertRepositories(database.sql, INSTALLATION_ID, [
    { id: REPO.id, fullName: `${REPO.owner}/${REPO.name}`, private: false },
  ]);
  await database.sql`update repositories set known_trigger_labels = '["agent:ready"]'::jsonb`;
}

/** GitHub's app webhook deliveries, newest first. */
function mockDeliveries(github: ReturnType<typeof mockGitHub>, deliveries: object[], etag = '"d1"') {
  github.scope.get("/app/hook/deliveries").query({ per_page: "100" }).reply(200, deliveries, { etag });
}

/** The open issues carrying `agent:ready`: the first round asks without `since`. */
function mockLabeledIssues(github: ReturnType<typeof mockGitHub>, issues: object[]) {
  github.scope
    .get(`${REPO_PATH}/issues`)
    .query({
      labels: "agent:ready",
      state: "open",
      sort: "updated",
      direction: "desc",
      per_page: "100",
      page: "1",
    })
    .reply(200, issues, { etag: '"i1"' });
}

const issueOne = {
  number: 1,
  title: "Spelling error in the README file",
  body: "It says teh.",
  updated_at: LABELED_AT,
  labels: [{ name: "agent:ready" }],
};

async function complianceKinds(): Promise<string[]> {
  const rows = await database.sql<{ kind: string }[]>`select kind from compliance_records order by seq`;
  return rows.map((row) => row.kind);
}

describe("reconciliation sweep", () => {
  test("a label added with no webhook delivered: the sweep starts the task as the webhook would, with the labeler from the issue's events as sender; a second round and the late webhook add nothing", async () => {
    await knowRepository();
    const github = mockGitHub().token();
    mockDeliveries(github, []);
    mockLabeledIssues(github, [issueOne]);
    github.scope
      .get(`${REPO_PATH}/issues/1/events`)
      .query({ per_page: "100", page: "1" })
      .reply(200, [
        {
          id: 70,
          event: "labeled",
          created_at: "2026-11-19T09:00:00Z",
          actor: { login: "Codertocat" },
          label: { name: "agent:ready" },
        },
        {
          id: 71,
          event: "unlabeled",
          created_at: "2026-11-19T09:30:00Z",
          actor: { login: "Codertocat" },
          label: { name: "agent:ready" },
        },
        { id: 72, event: "labeled", created_at: LABELED_AT, actor: { login: "hubot" }, label: { name: "agent:ready" } },
      ]);
    github.scope
      .get(REPO_PATH)
      .reply(200, { id: REPO.id, name: REPO.name, owner: { login: REPO.owner }, default_branch: REPO.defaultBranch });
    mockLabelToDraftPr(github, 1, 7, "hubot");

    const report = await foreman.reconcile.sweep();
    await foreman.settle();

    expect(report?.repairs).toEqual([
      {
        kind: "label",
        detail: {
          repo: `${REPO.owner}/${REPO.name}`,
          issue: 1,
          label: "agent:ready",
          sender: "hubot",
          labeledEventId: 72,
        },
      },
    ]);
    expect(await database.sql`select state, trigger_label, triggered_by, pr_number, issue_snapshot from tasks`).toEqual(
      [
        {
          state: "awaiting_agent",
          trigger_label: "agent:ready",
          triggered_by: "hubot",
          pr_number: 7,
          issue_snapshot: { title: issueOne.title, body: issueOne.body, updatedAt: LABELED_AT },
        },
      ],
    );
    expect(github.writes().find((request) => request.path === `${REPO_PATH}/pulls`)?.body).toMatchObject({
      body: expect.stringContaining("added by @hubot") as unknown,
    });
    expect(await complianceKinds()).toContain("reconcile.repaired");
    expect(await foreman.metrics.scrape()).toContain('foreman_reconcile_repairs_total{kind="label"} 1');

    // The webhook arrives late: the same meaning, so the inbox stores nothing new.
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1, updatedAt: LABELED_AT }),
    );
    await foreman.settle();
    expect(
      await database.sql`select event_name, source from webhook_deliveries where event_name = 'issues.labeled'`,
    ).toEqual([{ event_name: "issues.labeled", source: "github" }]);

    // A second round: the deliveries list answers 304 (free), the issue has its live task.
    github.scope.get("/app/hook/deliveries").query({ per_page: "100" }).matchHeader("if-none-match", '"d1"').reply(304);
    github.scope
      .get(`${REPO_PATH}/issues`)
      .query((query) => query.labels === "agent:ready" && typeof query.since === "string")
      .reply(200, [issueOne]);
    github.scope.get(`${REPO_PATH}/pulls/7`).reply(200, {
      state: "open",
      merged: false,
      updated_at: LABELED_AT,
      head: { ref: "agent/1-spelling-error-in-the-readme-file" },
    });
    const again = await foreman.reconcile.sweep();
    expect(again).toEqual({ repairs: [], requests: 2, notModified: 1 });
    expect(await database.sql`select count(*)::int as n from tasks`).toEqual([{ n: 1 }]);
  });

  test("a suite completed with no webhook: the sweep feeds the task awaiting CI the same check_suite event, which the task records", async () => {
    // Paused, so the event is applied but the CI read it leads to waits: what is asserted is the event.
    await foreman.stop();
    foreman = await startTestForeman(database, { env: buildTestEnv({ FOREMAN_PAUSED: "true" }) });
    const task = makePipelineTask("awaiting_ci", {
      repo: {
        installationId: INSTALLATION_ID,
        id: REPO.id,
        owner: REPO.owner,
        name: REPO.name,
        defaultBranch: "master",
      },
      jobId: null,
    });
    await insertTask(database.sql, task);
    const github = mockGitHub().token();
    mockDeliveries(github, []);
    github.scope
      .get(`${REPO_PATH}/pulls/9`)
      .reply(200, { state: "open", merged: false, updated_at: LABELED_AT, head: { ref: task.branch } });
    github.scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-suites`)
      .query({ per_page: "100" })
      .reply(200, {
        total_count: 3,
        check_suites: [
          {
            id: 801,
            head_sha: HEAD,
            head_branch: task.branch,
            status: "completed",
            conclusion: "success",
            app: { id: 15368, slug: "github-actions" },
          },
          {
            id: 802,
            head_sha: HEAD,
            head_branch: task.branch,
            status: "in_progress",
            conclusion: null,
            app: { id: 15368, slug: "github-actions" },
          },
          // Foreman's own suite (its check run) is not CI.
          {
            id: 803,
            head_sha: HEAD,
            head_branch: task.branch,
            status: "completed",
            conclusion: "success",
            app: { id: 12345, slug: "foreman" },
          },
        ],
      });

    const report = await foreman.reconcile.sweep();
    await foreman.settle();

    expect(report?.repairs).toEqual([
      {
        kind: "ci",
        detail: { taskId: task.id, suiteId: 801, app: "github-actions", conclusion: "success", sha: HEAD },
      },
    ]);
    const [stored] = await database.sql<{ dedupe_key: string; lane: string; status: string }[]>`
      select dedupe_key, lane, status from webhook_deliveries where event_name = 'check_suite.completed'`;
    expect(stored).toMatchObject({ lane: `repo:${REPO.id}#5`, status: "done" });
    // The webhook's own key: a late check_suite webhook for this suite stores nothing new.
    const payload = buildCheckSuitePayload({
      headBranch: task.branch,
      headSha: HEAD,
      suiteId: 801,
      conclusion: "success",
    });
    payload.repository.id = REPO.id;
    expect(stored!.dedupe_key).toBe(adaptCheckSuiteEvent("late", payload as never, INSTALLATION_ID, "lane").dedupeKey);
    const [row] = await database.sql<{ state: string; ci: unknown }[]>`select state, pipeline->'ci' as ci from tasks`;
    expect(row).toEqual({ state: "awaiting_ci", ci: { sha: HEAD, suiteId: 801, conclusion: "success" } });
    expect(await database.sql`select kind, status from effects where kind = 'collect_ci_result'`).toEqual([
      { kind: "collect_ci_result", status: "pending" },
    ]);
    expect(await foreman.metrics.scrape()).toContain('foreman_reconcile_repairs_total{kind="ci"} 1');
  });

  test("a failed delivery is redelivered once; one that later got an OK attempt, one whose event the inbox holds, and one older than the window are not", async () => {
    await database.sql`
      insert into webhook_deliveries (delivery_id, dedupe_key, source, event_name, lane, event, status)
      values ('g-stored', 'k-stored', 'github', 'issues.labeled', 'repo:1#1', '{}'::jsonb, 'done')`;
    const github = mockGitHub();
    const now = Date.now();
    const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();
    const attempt = (id: number, guid: string, minutesAgo: number, statusCode: number) => ({
      id,
      guid,
      delivered_at: at(minutesAgo),
      redelivery: false,
      duration: 0.1,
      status: statusCode === 200 ? "OK" : "Invalid HTTP Response: 503",
      status_code: statusCode,
      event: "issues",
      action: "labeled",
      installation_id: INSTALLATION_ID,
      repository_id: REPO.id,
    });
    mockDeliveries(github, [
      attempt(6, "g-retried", 1, 200),
      attempt(5, "g-failed", 2, 503),
      attempt(4, "g-failed", 3, 503),
      attempt(3, "g-retried", 4, 503),
      attempt(2, "g-stored", 5, 503),
      attempt(1, "g-old", 5 * 24 * 60, 503),
    ]);
    github.scope.post("/app/hook/deliveries/5/attempts").reply(202, {});

    const report = await foreman.reconcile.sweep();

    expect(report?.repairs).toEqual([
      {
        kind: "delivery",
        detail: { guid: "g-failed", deliveryId: 5, event: "issues", action: "labeled", statusCode: 503 },
      },
    ]);
    expect(github.writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      "POST /app/hook/deliveries/5/attempts",
    ]);
    expect(await complianceKinds()).toEqual(["reconcile.repaired"]);
  });

  test("a PR merged with no webhook: the sweep ends its task with the pull_request_closed event", async () => {
    const task = makePipelineTask("ready_for_review", {
      repo: {
        installationId: INSTALLATION_ID,
        id: REPO.id,
        owner: REPO.owner,
        name: REPO.name,
        defaultBranch: "master",
      },
      jobId: null,
    });
    await insertTask(database.sql, task);
    const github = mockGitHub().token();
    mockDeliveries(github, []);
    github.scope.get(`${REPO_PATH}/pulls/9`).reply(200, {
      state: "closed",
      merged: true,
      merge_commit_sha: "m".repeat(40),
      closed_at: LABELED_AT,
      updated_at: LABELED_AT,
      head: { ref: task.branch },
      merged_by: { login: "Codertocat" },
    });

    const report = await foreman.reconcile.sweep();
    await foreman.settle();

    expect(report?.repairs).toEqual([
      { kind: "pull_request", detail: { taskId: task.id, pr: 9, merged: true, closedAt: LABELED_AT } },
    ]);
    expect(await database.sql`select state from tasks`).toEqual([{ state: "merged" }]);
  });

  test("only one replica sweeps at a time: while another holds the sweep's lock, a round does nothing and asks GitHub nothing", async () => {
    const other = await database.sql.reserve();
    try {
      expect(await tryReconcileLock(other)).toBe(true);
      expect(await foreman.reconcile.sweep()).toBeNull();
      await releaseReconcileLock(other);
    } finally {
      other.release();
    }
    // Free again: the next round runs (and reads the deliveries).
    const github = mockGitHub();
    mockDeliveries(github, []);
    expect(await foreman.reconcile.sweep()).toEqual({ repairs: [], requests: 1, notModified: 0 });
  });

  test("started, the sweeper runs a round at once (Foreman.start() starts it when it listens for webhooks)", async () => {
    const github = mockGitHub();
    mockDeliveries(github, []);
    foreman.reconcile.start();
    while (!github.scope.isDone()) await new Promise((resolve) => setTimeout(resolve, 20));
    await foreman.reconcile.stop();
    expect(github.requests.map((request) => request.path)).toEqual(["/app/hook/deliveries?per_page=100"]);
  });
});
