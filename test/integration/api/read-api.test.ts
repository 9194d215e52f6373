import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { ApiClient } from "../../helpers/api-client.js";
import { createApiToken, seedTask } from "../../helpers/api-fixtures.js";
import { createTestDatabase, resetTables, type TestDatabase } from "../../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../../helpers/test-foreman.js";
import { insertAgentJobLogLines } from "../../../src/db/queries/insert-agent-job-log-lines.js";
import { TaskState } from "../../../src/workflow/states.js";

let database: TestDatabase;
let foreman: TestForeman;
let api: ApiClient;
let viewer: string;
let operator: string;

const id = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, "0")}`;

beforeAll(async () => {
  database = await createTestDatabase();
  foreman = await startTestForeman(database, {
    env: buildTestEnv({
      PORT: "0",
      HOST: "127.0.0.1",
      API_RATE_LIMIT_PER_MINUTE: "1000",
      MAX_CONCURRENT_JOBS: "4",
      MAX_JOBS_PER_REPO: "2",
    }),
  });
  await foreman.server.start();
  api = await ApiClient.connect(`http://127.0.0.1:${foreman.server.port}`);
});
afterAll(async () => {
  await foreman?.stop();
  await database.drop();
});
beforeEach(async () => {
  await resetTables(database);
  await database.sql`truncate api_tokens, api_idempotency_keys`;
  viewer = (await createApiToken(database.sql, "viewer")).token;
  operator = (await createApiToken(database.sql, "operator", "ops-bot")).token;
});

describe("GET /api/tasks", () => {
  test("lists newest first, filters by repository, state and type, and pages by cursor with a Link header", async () => {
    await seedTask(database.sql, { id: id(1), issueNumber: 1, state: TaskState.failed }, 30);
    await seedTask(database.sql, { id: id(2), issueNumber: 2, type: "bugfix", state: TaskState.running }, 20);
    await seedTask(database.sql, { id: id(3), issueNumber: 3, state: TaskState.running }, 10);

    const first = await api.request("GET", "/api/tasks?per_page=2", { token: viewer });
    expect(first.status).toBe(200);
    expect(first.body.tasks.map((task: { id: string }) => task.id)).toEqual([id(3), id(2)]);
    const link = first.headers.get("link")!;
    expect(link).toMatch(/rel="next"/);
    const next = /<([^>]+)>/.exec(link)![1]!;
    const second = await api.request("GET", next, { token: viewer });
    expect(second.body.tasks.map((task: { id: string }) => task.id)).toEqual([id(1)]);
    expect(second.body.nextCursor).toBeNull();
    expect(second.headers.get("link")).toBeNull();

    const running = await api.request("GET", "/api/tasks?state=running&type=bugfix&repository=codertocat/hello-world", {
      token: viewer,
    });
    expect(running.body.tasks.map((task: { id: string }) => task.id)).toEqual([id(2)]);
    const other = await api.request("GET", "/api/tasks?repository=acme/other", { token: viewer });
    expect(other.body.tasks).toEqual([]);
  });

  test("bad filters and cursors are problem documents naming the fix", async () => {
    const bad = await api.request("GET", "/api/tasks?per_page=0", { token: viewer });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(bad.body.detail).toMatch(/per_page must be/);
    const cursor = await api.request("GET", "/api/tasks?cursor=nonsense", { token: viewer });
    expect(cursor.status).toBe(400);
    expect(cursor.body.detail).toMatch(/nextCursor/);
  });
});

describe("GET /api/tasks/{id}", () => {
  test("shows the state, steps, jobs, links and the timeline from the compliance records", async () => {
    await seedTask(database.sql, {
      id: id(5),
      issueNumber: 5,
      state: TaskState.running,
      prNumber: 7,
      prUrl: "https://github.com/Codertocat/Hello-World/pull/7",
    });
    await database.sql`insert into agent_jobs (id, task_id, role, profile, image, base_sha, status, attempt, log_token, log)
      values (${id(50)}, ${id(5)}, 'coder', 'claude', 'img', 'base', 'succeeded', 1, 'secret-token', ${'{"time":"t","stream":"stdout","line":"hello"}\n'})`;
    const detail = await api.request("GET", `/api/tasks/${id(5)}`, { token: viewer });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      id: id(5),
      state: "running",
      links: {
        pullRequest: "https://github.com/Codertocat/Hello-World/pull/7",
        evidence: `/api/compliance/tasks/${id(5)}`,
      },
      jobs: [{ id: id(50), role: "coder", status: "succeeded", log: `/api/tasks/${id(5)}/jobs/${id(50)}/log` }],
    });
    expect(detail.text).not.toContain("secret-token");

    const missing = await api.request("GET", `/api/tasks/${id(99)}`, { token: viewer });
    expect(missing.status).toBe(404);
  });
});

describe("GET /api/tasks/{id}/jobs/{job}/log", () => {
  test("serves the stored log as JSONL, 202 while the job runs, and streams it with follow=1", async () => {
    await seedTask(database.sql, { id: id(6), issueNumber: 6, state: TaskState.running });
    await database.sql`insert into agent_jobs (id, task_id, role, profile, image, base_sha, status, attempt, log_token)
      values (${id(60)}, ${id(6)}, 'coder', 'claude', 'img', 'base', 'running', 1, 't')`;
    const running = await api.request("GET", `/api/tasks/${id(6)}/jobs/${id(60)}/log`, { token: viewer });
    expect(running.status).toBe(202);

    const following = api.request("GET", `/api/tasks/${id(6)}/jobs/${id(60)}/log?follow=1`, { token: viewer });
    const log =
      '{"t":"2026-01-01T00:00:00Z","stream":"stdout","line":"one"}\n{"t":"2026-01-01T00:00:01Z","stream":"stderr","line":"two"}\n';
    await database.sql`update agent_jobs set status = 'succeeded', log = ${log} where id = ${id(60)}`;
    const streamed = await following;
    expect(streamed.status).toBe(200);
    expect(streamed.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(streamed.text).toContain('event: line\ndata: {"t":"2026-01-01T00:00:00Z","stream":"stdout","line":"one"}');
    expect(streamed.text).toMatch(/event: end\ndata: \{"status":"succeeded"\}/);

    const stored = await api.request("GET", `/api/tasks/${id(6)}/jobs/${id(60)}/log`, { token: viewer });
    expect(stored.status).toBe(200);
    expect(stored.text).toBe(log);
    const wrongTask = await api.request("GET", `/api/tasks/${id(7)}/jobs/${id(60)}/log`, { token: viewer });
    expect(wrongTask.status).toBe(404);
  });
});

describe("GET /api/tasks/{id}/jobs/{job}/log?follow=1 while the job runs", () => {
  test("streams the live lines as they are stored, then the end, without the stored log again", async () => {
    await seedTask(database.sql, { id: id(8), issueNumber: 8, state: TaskState.running });
    await database.sql`insert into agent_jobs (id, task_id, role, profile, image, base_sha, status, attempt, log_token)
      values (${id(80)}, ${id(8)}, 'coder', 'claude', 'img', 'base', 'running', 1, 't')`;
    const live = (line: string) => JSON.stringify({ t: "2026-01-01T00:00:00Z", stream: "stdout", line });
    await insertAgentJobLogLines(database.sql, id(80), 1, [live("early")]);
    const following = api.follow(`/api/tasks/${id(8)}/jobs/${id(80)}/log?follow=1`, { token: viewer });
    await expect.poll(() => following.text(), { timeout: 10_000 }).toContain(`data: ${live("early")}`);
    await insertAgentJobLogLines(database.sql, id(80), 1, [live("later")]);
    await expect.poll(() => following.text(), { timeout: 10_000 }).toContain(`data: ${live("later")}`);
    expect(following.text()).not.toContain("event: end");
    await database.sql`update agent_jobs set status = 'succeeded', log = ${`${live("stored")}\n`} where id = ${id(80)}`;
    const streamed = await following.done;
    expect(streamed.status).toBe(200);
    expect(streamed.text.match(/^event: .*$/gm)).toEqual(["event: line", "event: line", "event: end"]);
    expect(streamed.text).toMatch(/event: end\ndata: \{"status":"succeeded"\}/);
  });
});

describe("settings", () => {
  test("GET shows the environment's limits; PUT overrides them and pauses, each change a compliance record naming the token", async () => {
    const before = await api.request("GET", "/api/settings", { token: viewer });
    expect(before.body).toMatchObject({ paused: false, maxConcurrentJobs: { value: 4, environment: 4, setBy: null } });

    const denied = await api.request("PUT", "/api/settings", { token: viewer, body: { paused: true } });
    expect(denied.status).toBe(403);

    const changed = await api.request("PUT", "/api/settings", {
      token: operator,
      body: { paused: true, reason: "incident 7", maxConcurrentJobs: 1 },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      paused: true,
      pause: { reason: "incident 7", by: "api:ops-bot" },
      maxConcurrentJobs: { value: 1, environment: 4, setBy: "api:ops-bot" },
      maxJobsPerRepo: { value: 2, setBy: null },
    });
    const records = await database.sql<{ kind: string; actor: string; payload: any }[]>`
      select kind, actor, payload from compliance_records where kind like 'system.%' order by seq`;
    expect(records).toEqual([
      { kind: "system.paused", actor: "api:ops-bot", payload: { reason: "incident 7" } },
      {
        kind: "system.setting_changed",
        actor: "api:ops-bot",
        payload: { setting: "max_concurrent_jobs", from: null, to: 1, environment: 4 },
      },
    ]);
    // The job runner's claim reads the same value.
    const reset = await api.request("PUT", "/api/settings", {
      token: operator,
      body: { paused: false, maxConcurrentJobs: null },
    });
    expect(reset.body).toMatchObject({ paused: false, maxConcurrentJobs: { value: 4, setBy: null } });

    const bad = await api.request("PUT", "/api/settings", { token: operator, body: { maxConcurrentJobs: 0 } });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/maxConcurrentJobs/);
    const empty = await api.request("PUT", "/api/settings", { token: operator, body: {} });
    expect(empty.status).toBe(400);
  });
});

describe("authentication, errors and headers", () => {
  test("no token, a wrong one and an unknown route are problem documents with the security headers", async () => {
    const none = await api.request("GET", "/api/tasks");
    expect(none.status).toBe(401);
    expect(none.body).toMatchObject({ status: 401, title: "Unauthorized" });
    expect(none.body.detail).toMatch(/foreman tokens create/);
    const wrong = await api.request("GET", "/api/settings", { token: "fmn_nope" });
    expect(wrong.status).toBe(401);
  });
});
