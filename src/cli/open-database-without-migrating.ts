import type { Env } from "../config/env.js";
import { CommandError } from "./command-error.js";
import { openDatabase, type Database } from "../db/client.js";

/**
 * The configured database for a command that only reads (`foreman verify`): no migrations, so a
 * role with SELECT alone is enough. With no DATABASE_URL the embedded server under DATA_DIR is
 * started (stop `foreman serve` first: one server per data folder).
 */
export async function openDatabaseWithoutMigrating(env: Env): Promise<{ database: Database; close(): Promise<void> }> {
  const embedded =
    env.DATABASE_URL === undefined
      ? await (
          await import("../db/embedded.js")
        ).startEmbeddedPostgres({ dataDir: env.DATA_DIR, port: env.EMBEDDED_POSTGRES_PORT })
      : null;
  const database = openDatabase(embedded?.url ?? env.DATABASE_URL!, { max: 2 });
  // A database without Foreman's tables is a wrong address, not a broken trail: say so plainly.
  const [found] = await database.sql<
    { ok: boolean }[]
  >`select to_regclass('compliance_records') is not null and to_regclass('compliance_checkpoints') is not null as ok`;
  if (!found?.ok) {
    await database.close();
    await embedded?.stop();
    throw new CommandError(
      `${embedded ? `The embedded database under ${env.DATA_DIR}` : "The database at DATABASE_URL"} has no Foreman compliance tables. ` +
        "Point DATABASE_URL at Foreman's database (or run `foreman migrate` first if this is a new one).",
    );
  }
  return {
    database,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}
