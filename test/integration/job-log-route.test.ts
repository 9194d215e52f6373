import { afterEach, beforeEach, expect, test } from "vitest";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// `GET /jobs/:id/log` over real HTTP and a real database: an id that is not a UUID is a 404, never a 500.

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
  await foreman.server.start();
});
afterEach(async () => {
  await foreman.server.stop();
  await foreman.stop();
});

async function fetchLog(id: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`http://127.0.0.1:${foreman.server.port}/jobs/${id}/log?token=anything`);
  return { status: response.status, body: await response.json() };
}

test.each([
  ["36 dashes", "-".repeat(36)],
  ["36 hex digits and dashes out of place", "0123456789abcdef-0123456789abcdef-01"],
  ["a UUID of no job", "00000000-0000-4000-8000-000000000099"],
])("a job log link with %s answers 404, like a job that does not exist", async (_what, id) => {
  expect(await fetchLog(id)).toEqual({
    status: 404,
    body: { error: "No such log. Use the link from the issue's status comment." },
  });
});
