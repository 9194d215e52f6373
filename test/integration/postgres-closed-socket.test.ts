import postgres from "postgres";
import { afterAll, beforeAll, expect, test } from "vitest";
import { useTestDatabase } from "../helpers/test-database.js";

// postgres.js 3.4.9 throws "Cannot read properties of null (reading 'write')" from a write queued
// on a connection whose socket has closed (porsager/postgres#1208): outside every promise, so it
// ended the process, and the query never settled. A reserved connection (the reconciliation
// sweep's and the retention's try-locks, the migration lock) whose backend died hit it on its next
// query; and releasing it put the dead connection back among the open ones, so a pool of one
// failed every later query. patches/postgres+3.4.9.patch (applied by patch-package at `npm ci`)
// rejects the query with CONNECTION_CLOSED and leaves the connection closed, to be reconnected.
// Without the patch this test hangs and vitest reports the uncaught TypeError.

const database = useTestDatabase();
let client: postgres.Sql;
beforeAll(() => {
  client = postgres(database.url, { max: 1, onnotice: () => undefined });
});
afterAll(() => client?.end({ timeout: 1 }));

test("a query on a reserved connection whose backend died is rejected, not thrown outside it", async () => {
  const reserved = await client.reserve();
  const [row] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
  await database.sql`select pg_terminate_backend(${row!.pid})`;
  // The backend's end reaches the client's socket before the next query is written.
  while ((await database.sql`select 1 from pg_stat_activity where pid = ${row!.pid}`).length > 0);
  await new Promise((resolve) => setTimeout(resolve, 50));

  const failure = await reserved`select 1`.then(
    () => null,
    (error: unknown) => error,
  );
  expect(failure).toMatchObject({ code: "CONNECTION_CLOSED" });
  reserved.release();
  // The pool itself is still usable: a new connection is opened for the next query.
  expect(await client`select 1 as one`).toEqual([{ one: 1 }]);
});
