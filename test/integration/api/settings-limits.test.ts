import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { claimNextAgentJob } from "../../../src/db/queries/claim-next-agent-job.js";
import { insertAgentJob } from "../../../src/db/queries/insert-agent-job.js";
import { createJobLimitsReader } from "../../../src/engine/runtime-settings.js";
import { ApiClient } from "../../helpers/api-client.js";
import { createApiToken, seedRepository, seedTask } from "../../helpers/api-fixtures.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../../helpers/test-foreman.js";

let database: TestDatabase;
let foreman: TestForeman;
let api: ApiClient;
let admin: string;

const TASKS = ["a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"];
const JOBS = ["b0000000-0000-4000-8000-000000000001", "b0000000-0000-4000-8000-000000000002"];
const ENVIRONMENT = { maxConcurrent: 4, maxPerRepo: 4 };

beforeAll(async () => {
  database = await createTestDatabase();
  foreman = await startTestForeman(database, {
    env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1", API_RATE_LIMIT_PER_MINUTE: "1000" }),
  });
  await foreman.server.start();
  api = await ApiClient.connect(`http://127.0.0.1:${foreman.server.port}`);
  await seedRepository(database.sql);
  admin = (await createApiToken(database.sql, "operator", "ops-bot")).token;
});
afterAll(async () => {
  await foreman?.stop();
  await database.drop();
});

describe("PUT /api/settings: MAX_CONCURRENT_JOBS at runtime", () => {
  test("the job runner's claim, reading the limits as the runner does, holds to the limit set through the API", async () => {
    for (const [index, id] of TASKS.entries()) {
      await seedTask(database.sql, { id, issueNumber: 20 + index, state: "awaiting_agent", jobId: JOBS[index]! });
      await insertAgentJob(database.sql, {
        id: JOBS[index]!,
        taskId: id,
        role: "coder",
        profile: "claude-code",
        baseSha: "base",
      });
    }
    const lowered = await api.request("PUT", "/api/settings", { token: admin, body: { maxConcurrentJobs: 1 } });
    expect(lowered.status).toBe(200);
    // The reader the job runner is given in src/main.ts (no cache here: ttl 0).
    const limits = await createJobLimitsReader(database.sql, ENVIRONMENT, 0)();
    expect(limits).toEqual({ maxConcurrent: 1, maxPerRepo: 4 });
    const claim = async () => {
      const now = await createJobLimitsReader(database.sql, ENVIRONMENT, 0)();
      return claimNextAgentJob(database.sql, "test-replica", 60_000, {
        maxRunning: now.maxConcurrent,
        maxPerRepo: now.maxPerRepo,
        paused: false,
      });
    };
    const first = await claim();
    expect(first && JOBS.includes(first.id)).toBe(true);
    // The environment allows 4; the runtime limit of 1 leaves the second job queued.
    expect(await claim()).toBeNull();

    const raised = await api.request("PUT", "/api/settings", { token: admin, body: { maxConcurrentJobs: 2 } });
    expect(raised.status).toBe(200);
    const second = await claim();
    expect(second?.id).toBe(JOBS.find((id) => id !== first!.id));
  });
});
