import { afterAll, beforeAll, expect, test } from "vitest";
import { ApiClient } from "../../helpers/api-client.js";
import { createApiToken } from "../../helpers/api-fixtures.js";
import { createTestDatabase, type TestDatabase } from "../../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../../helpers/test-foreman.js";

let database: TestDatabase;
let foreman: TestForeman;
let api: ApiClient;

beforeAll(async () => {
  database = await createTestDatabase();
  foreman = await startTestForeman(database, {
    env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1", API_RATE_LIMIT_PER_MINUTE: "3" }),
  });
  await foreman.server.start();
  api = await ApiClient.connect(`http://127.0.0.1:${foreman.server.port}`);
});
afterAll(async () => {
  await foreman?.stop();
  await database.drop();
});

test("each token has its own bucket: over it, 429 with Retry-After as a problem document", async () => {
  const first = (await createApiToken(database.sql, "viewer", "first")).token;
  const second = (await createApiToken(database.sql, "viewer", "second")).token;
  for (let request = 0; request < 3; request += 1)
    expect((await api.request("GET", "/api/settings", { token: first })).status).toBe(200);
  const limited = await api.request("GET", "/api/settings", { token: first });
  expect(limited.status).toBe(429);
  expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(limited.body.detail).toMatch(/Retry-After/);
  expect((await api.request("GET", "/api/settings", { token: second })).status).toBe(200);
});
