import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { afterAll, beforeAll, inject } from "vitest";
import { openDatabase, type Database } from "../../src/db/client.js";
import { runMigrations } from "../../src/db/migrate.js";

/** A fresh, migrated database of its own for one test file, and how to drop it. */
export interface TestDatabase extends Database {
  url: string;
  drop(): Promise<void>;
}

/** Create a database on the test server, migrate it, and open a pool to it. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject("adminDatabaseUrl");
  const name = `foreman_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const database = openDatabase(url);
  await runMigrations(database);
  return {
    ...database,
    url,
    async drop() {
      await database.close();
      // KEEP_TEST_DATABASE=1 keeps it for inspection (e.g. `foreman verify` on what the tests filled).
      if (process.env.KEEP_TEST_DATABASE === "1") {
        console.log(`kept test database: ${url}`);
        return;
      }
      const cleanup = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await cleanup.unsafe(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** Empty every table (between tests in one file). compliance_records refuses TRUNCATE by design, so it is bypassed with replication role. */
export async function resetTables(database: Database): Promise<void> {
  await database.sql.begin(async (sql) => {
    await sql`set local session_replication_role = replica`;
    await sql`truncate agent_job_log_lines, agent_jobs, effects, webhook_deliveries, tasks, repositories, installations, compliance_records, ci_results, system_settings`;
  });
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * The usual lifecycle of a test file's database: created (and migrated) before its tests, dropped
 * after them. Returns the database; its fields are valid inside the file's tests and hooks.
 */
export function useTestDatabase(): TestDatabase {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  const current = (): TestDatabase => {
    if (!database) throw new Error("the test database exists only inside the file's tests and hooks");
    return database;
  };
  return {
    get db() {
      return current().db;
    },
    get sql() {
      return current().sql;
    },
    get url() {
      return current().url;
    },
    close: () => current().close(),
    drop: () => current().drop(),
  };
}
