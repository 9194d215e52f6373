import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ApiClient } from "../../helpers/api-client.js";
import { createApiToken, seedRepository, seedTask } from "../../helpers/api-fixtures.js";
import { mockGitHub, REPO, REPO_PATH } from "../../helpers/github-mock.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../../helpers/test-foreman.js";
import { makeTask } from "../../unit/workflow/fixtures.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";

let database: TestDatabase;
let foreman: TestForeman;
let api: ApiClient;
let operator: string;

const ESCALATED = "e5ca1a7e-0000-4000-8000-000000000001";
const ENDED = "cafe0000-0000-4000-8000-000000000002";
const REPOSITORY = `${REPO.owner}/${REPO.name}`;

beforeAll(async () => {
  database = await createTestDatabase();
  foreman = await startTestForeman(database, {
    env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1", API_RATE_LIMIT_PER_MINUTE: "1000" }),
  });
  await foreman.server.start();
  api = await ApiClient.connect(`http://127.0.0.1:${foreman.server.port}`);
  await seedRepository(database.sql);
  operator = (await createApiToken(database.sql, "operator", "ops-bot")).token;
});
afterAll(async () => {
  await foreman?.stop();
  await database.drop();
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
    title: `Issue ${issue} as it reads now`,
    body: "Fix it.",
    state: "open",
    updated_at: "2026-11-20T10:00:00Z",
    labels: [],
  });
}

/** The comments and check runs a step writes (the status comment is created, as no earlier one is known). */
function allowComments(github: ReturnType<typeof mockGitHub>, checkRun = false) {
  github.display.post(/\/issues\/\d+\/comments$/).reply(201, { id: 9001 });
  // The check run's redraw may be merged into a later one (display coalescing): allowed, not required.
  if (checkRun)
    github.display
      .post(/\/check-runs$/)
      .optionally()
      .reply(201, { id: 501 });
}

describe("POST /api/tasks/{id}/retry", () => {
  test("an escalated task gets another CI fix round, as /foreman retry gives it", async () => {
    const escalated = makeTask("escalated");
    await seedTask(database.sql, {
      ...escalated,
      id: ESCALATED,
      repo: {
        installationId: INSTALLATION_ID,
        id: REPO.id,
        owner: REPO.owner,
        name: REPO.name,
        defaultBranch: REPO.defaultBranch,
      },
      issueNumber: 5,
    });
    const github = mockGitHub().token();
    allowComments(github, true);
    const retried = await api.request("POST", `/api/tasks/${ESCALATED}/retry`, { token: operator });
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ outcome: "applied", task: { id: ESCALATED, state: "awaiting_agent" } });
    const [row] = await database.sql`select state, step from tasks where id = ${ESCALATED}`;
    expect(row).toMatchObject({ state: "awaiting_agent", step: "ci_fixer" });
    const [job] = await database.sql`select role from agent_jobs where task_id = ${ESCALATED}`;
    expect(job).toMatchObject({ role: "ci_fixer" });
    await foreman.settle();
  });

  test("after the end, a new task starts from the issue's text now, triggered by the API actor", async () => {
    await seedTask(database.sql, { id: ENDED, issueNumber: 3, state: "cancelled" });
    const github = mockGitHub();
    allowComments(github);
    mockIssueReads(github, 3);
    // The new task's start, as the label's would be, without asking GitHub for the API actor's role.
    github.config(null).branch().planCommit().createRef().pull(12).labels(12);
    const retried = await api.request("POST", `/api/tasks/${ENDED}/retry`, { token: operator });
    expect(retried.status).toBe(200);
    expect(retried.body.task).toMatchObject({ id: ENDED, state: "cancelled" });
    await foreman.settle();
    expect(github.scope.isDone()).toBe(true);
    const tasks = await database.sql<{ id: string; triggered_by: string; pr_number: number; issue_title: string }[]>`
      select id, triggered_by, pr_number, issue_title from tasks where issue_number = 3 and id <> ${ENDED}`;
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({ triggered_by: "api:ops-bot", pr_number: 12 });
    const detail = await api.request("GET", `/api/tasks/${tasks[0]!.id}`, { token: operator });
    expect(detail.body).toMatchObject({ issueNumber: 3, triggeredBy: "api:ops-bot" });
  });
});

describe("POST /api/tasks refusals", () => {
  test("an issue GitHub does not have is 404", async () => {
    const github = mockGitHub();
    github.scope.get(REPO_PATH).reply(200, {
      id: REPO.id,
      name: REPO.name,
      owner: { login: REPO.owner },
      default_branch: REPO.defaultBranch,
    });
    github.scope.get(`${REPO_PATH}/issues/404`).reply(404, { message: "Not Found" });
    const missing = await api.request("POST", "/api/tasks", {
      token: operator,
      body: { repository: REPOSITORY, issue: 404 },
    });
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toContain("GitHub has no issue #404");
    expect(await database.sql`select 1 from tasks where issue_number = 404`).toHaveLength(0);
  });

  test("an Idempotency-Key used again with another body is 422, and starts nothing", async () => {
    const github = mockGitHub();
    allowComments(github);
    mockIssueReads(github, 4);
    github.config(null).branch().planCommit().createRef().pull(14).labels(14);
    const first = await api.request("POST", "/api/tasks", {
      token: operator,
      body: { repository: REPOSITORY, issue: 4 },
      headers: { "idempotency-key": "start-4" },
    });
    expect(first.status).toBe(201);
    await foreman.settle();
    expect(github.scope.isDone()).toBe(true);

    mockIssueReads(github, 6);
    const reused = await api.request("POST", "/api/tasks", {
      token: operator,
      body: { repository: REPOSITORY, issue: 6 },
      headers: { "idempotency-key": "start-4" },
    });
    expect(reused.status).toBe(422);
    expect(reused.body.detail).toContain("Idempotency-Key was used");
    expect(await database.sql`select 1 from tasks where issue_number = 6`).toHaveLength(0);
  });
});
