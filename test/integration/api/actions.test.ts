import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ApiClient } from "../../helpers/api-client.js";
import { createApiToken, seedRepository } from "../../helpers/api-fixtures.js";
import { mockGitHub, REPO, REPO_PATH } from "../../helpers/github-mock.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../../helpers/test-foreman.js";

let database: TestDatabase;
let foreman: TestForeman;
let api: ApiClient;
let operator: string;
let viewer: string;

beforeAll(async () => {
  database = await createTestDatabase();
  foreman = await startTestForeman(database, {
    env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1", API_RATE_LIMIT_PER_MINUTE: "1000" }),
  });
  await foreman.server.start();
  api = await ApiClient.connect(`http://127.0.0.1:${foreman.server.port}`);
  await seedRepository(database.sql);
  operator = (await createApiToken(database.sql, "operator", "ops-bot")).token;
  viewer = (await createApiToken(database.sql, "viewer")).token;
});
afterAll(async () => {
  await foreman?.stop();
  await database.drop();
  console.log(`routes checked against the OpenAPI document:\n${[...(api?.checked ?? [])].sort().join("\n")}`);
});

function mockIssueReads(github: ReturnType<typeof mockGitHub>, issue: number) {
  github.scope.get(REPO_PATH).reply(200, {
    id: REPO.id,
    name: REPO.name,
    owner: { login: REPO.owner },
    default_branch: REPO.defaultBranch,
  });
  github.scope.get(`${REPO_PATH}/issues/${issue}`).reply(200, {
    number: issue,
    title: "Spelling error in the README file",
    body: "Fix it.",
    state: "open",
    updated_at: "2026-11-20T10:00:00Z",
    labels: [],
  });
}

describe("operator actions through the API", () => {
  let taskId = "";

  test("POST /api/tasks starts a task as the label would, once per Idempotency-Key", async () => {
    const github = mockGitHub().token();
    mockIssueReads(github, 1);
    // What the label would do next, without asking GitHub for the API actor's role.
    github.config(null).branch().planCommit().createRef().pull(7).labels(7).createComment(1);
    const denied = await api.request("POST", "/api/tasks", {
      token: viewer,
      body: { repository: `${REPO.owner}/${REPO.name}`, issue: 1 },
    });
    expect(denied.status).toBe(403);

    const started = await api.request("POST", "/api/tasks", {
      token: operator,
      body: { repository: `${REPO.owner}/${REPO.name}`, issue: 1 },
      headers: { "idempotency-key": "start-1" },
    });
    expect(started.status).toBe(201);
    expect(started.body.task).toMatchObject({ issueNumber: 1, triggeredBy: "api:ops-bot", state: "queued" });
    taskId = started.body.task.id;
    await foreman.settle();
    expect(github.scope.isDone()).toBe(true);

    const again = mockGitHub();
    mockIssueReads(again, 1);
    const replayed = await api.request("POST", "/api/tasks", {
      token: operator,
      body: { repository: `${REPO.owner}/${REPO.name}`, issue: 1 },
      headers: { "idempotency-key": "start-1" },
    });
    expect(replayed.status).toBe(200);
    expect(replayed.body).toMatchObject({ outcome: "replayed", task: { id: taskId } });

    const records = await database.sql<{ kind: string; actor: string }[]>`
      select kind, actor from compliance_records where actor = 'api:ops-bot' order by seq`;
    expect(records.slice(0, 2)).toEqual([
      { kind: "operator.action", actor: "api:ops-bot" },
      { kind: "task.transition", actor: "api:ops-bot" },
    ]);
    const detail = await api.request("GET", `/api/tasks/${taskId}`, { token: viewer });
    expect(detail.body.timeline[0]).toMatchObject({ kind: "task.transition", actor: "api:ops-bot" });
    expect(detail.body.links.pullRequest).toMatch(/\/pull\/7$/);
  });

  test("freeze and unfreeze produce the freeze label's events and show the label on GitHub; stop the /foreman stop command's", async () => {
    // The installation token is cached from the test before.
    const github = mockGitHub();
    github.display.patch(/\/issues\/comments\/\d+$/).reply(200, { id: 9001 });
    const freezeLabel = { name: "needs-human-review" };
    // The first freeze finds no label and adds it; the first unfreeze finds it and takes it off.
    github.scope
      .get(`${REPO_PATH}/issues/1/labels`)
      .query({ per_page: 100 })
      .reply(200, [])
      .post(`${REPO_PATH}/issues/1/labels`, { labels: ["needs-human-review"] })
      .reply(200, [freezeLabel])
      .get(`${REPO_PATH}/issues/1/labels`)
      .query({ per_page: 100 })
      .reply(200, [freezeLabel])
      .delete(`${REPO_PATH}/issues/1/labels/needs-human-review`)
      .reply(200, []);
    const frozen = await api.request("POST", `/api/tasks/${taskId}/freeze`, { token: operator });
    expect(frozen.status).toBe(200);
    expect(frozen.body.task).toMatchObject({ state: "frozen", frozenBy: "api:ops-bot" });
    const twice = await api.request("POST", `/api/tasks/${taskId}/freeze`, { token: operator });
    expect(twice.status).toBe(409);
    await foreman.settle();
    const thawed = await api.request("POST", `/api/tasks/${taskId}/unfreeze`, { token: operator });
    expect(thawed.status).toBe(200);
    expect(thawed.body.task.state).not.toBe("frozen");
    await foreman.settle();
    expect(github.scope.isDone()).toBe(true);

    // Someone labelled by hand before the API's freeze, and unlabelled before its unfreeze: nothing is written twice.
    github.scope
      .get(`${REPO_PATH}/issues/1/labels`)
      .query({ per_page: 100 })
      .reply(200, [freezeLabel])
      .get(`${REPO_PATH}/issues/1/labels`)
      .query({ per_page: 100 })
      .reply(200, []);
    expect((await api.request("POST", `/api/tasks/${taskId}/freeze`, { token: operator })).status).toBe(200);
    await foreman.settle();
    expect((await api.request("POST", `/api/tasks/${taskId}/unfreeze`, { token: operator })).status).toBe(200);
    await foreman.settle();
    expect(github.scope.isDone()).toBe(true);

    const stopped = await api.request("POST", `/api/tasks/${taskId}/stop`, { token: operator });
    expect(stopped.status).toBe(200);
    await foreman.settle();
    const after = await api.request("GET", `/api/tasks/${taskId}`, { token: viewer });
    expect(after.body.state).toBe("cancelled");
    const events = await database.sql<{ event_name: string; source: string }[]>`
      select event_name, source from webhook_deliveries where source = 'operator' order by id`;
    expect(events.map((row) => row.event_name)).toEqual([
      "api.issue_labeled",
      "api.issue_labeled",
      "api.issue_unlabeled",
      "api.issue_labeled",
      "api.issue_unlabeled",
      "api.actor_checked",
    ]);
    // One record kind for every operator action, the same as the command line's.
    const actions = await database.sql<{ payload: { action: string; via: string; event: string } }[]>`
      select payload from compliance_records where kind = 'operator.action' order by seq`;
    expect(actions.map((row) => `${row.payload.action} ${row.payload.via} ${row.payload.event}`)).toEqual([
      "start api issue_labeled",
      "freeze api issue_labeled",
      "unfreeze api issue_unlabeled",
      "freeze api issue_labeled",
      "unfreeze api issue_unlabeled",
      "stop api actor_checked",
    ]);
    const gone = await api.request("POST", `/api/tasks/${taskId}/stop`, { token: operator });
    expect(gone.status).toBe(409);
  });
});
