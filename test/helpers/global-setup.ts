import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgresOnAnyPort, type EmbeddedDatabase } from "../../src/db/embedded.js";

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

let embedded: EmbeddedDatabase | null = null;

/**
 * Tests run against a real PostgreSQL: `DATABASE_URL` when set (CI points it at the local server),
 * otherwise the embedded one, started once for the whole run. Each test file then creates its own
 * database on that server.
 */
export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), "foreman-test-pg-"));
    embedded = await startEmbeddedPostgresOnAnyPort({ dataDir, database: "postgres_admin" });
    url = embedded.url;
  }
  project.provide("adminDatabaseUrl", url);
}

/** Stop the embedded server if this run started one. */
export async function teardown(): Promise<void> {
  await embedded?.stop();
}
