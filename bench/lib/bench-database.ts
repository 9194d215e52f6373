import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { openDatabase, type Database } from "../../src/db/client.js";
import { startEmbeddedPostgresOnAnyPort } from "../../src/db/embedded.js";
import { runMigrations } from "../../src/db/migrate.js";

/** A fresh, migrated database for one benchmark run: on DATABASE_URL's server, else an embedded one. */
export async function openBenchDatabase(): Promise<{ database: Database; where: string; close(): Promise<void> }> {
  const embedded = process.env.DATABASE_URL
    ? null
    : await startEmbeddedPostgresOnAnyPort({
        dataDir: mkdtempSync(join(tmpdir(), "foreman-bench-")),
        database: "bench_admin",
      });
  const adminUrl = process.env.DATABASE_URL ?? embedded!.url;
  const name = `foreman_bench_${Date.now()}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = openDatabase(url.toString());
  await runMigrations(database);
  return {
    database,
    where: embedded ? "embedded PostgreSQL" : `PostgreSQL at ${new URL(adminUrl).host}`,
    async close() {
      await database.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
      await embedded?.stop();
    },
  };
}
