import type { Logger } from "probot";
import type { Env } from "../config/env.js";
import { openDatabase, type Database } from "../db/client.js";
import { runMigrations } from "../db/migrate.js";

/** The database a command uses, migrated, and how to release it. */
export interface OpenedDatabase {
  database: Database;
  embedded: boolean;
  close(): Promise<void>;
}

/** `DATABASE_URL` when set; otherwise the embedded PostgreSQL under `DATA_DIR`. Migrations are applied either way. */
export async function openConfiguredDatabase(env: Env, log: Logger): Promise<OpenedDatabase> {
  const embedded =
    env.DATABASE_URL === undefined
      ? await (
          await import("../db/embedded.js")
        ).startEmbeddedPostgres({
          dataDir: env.DATA_DIR,
          port: env.EMBEDDED_POSTGRES_PORT,
          log: (line) => log.debug({ name: "postgres" }, line),
        })
      : null;
  if (embedded)
    log.info(
      { dataDir: env.DATA_DIR, port: env.EMBEDDED_POSTGRES_PORT },
      "started embedded PostgreSQL (set DATABASE_URL to use your own server)",
    );
  const database = openDatabase(embedded?.url ?? env.DATABASE_URL!);
  try {
    await runMigrations(database);
  } catch (error) {
    await database.close();
    await embedded?.stop();
    throw error;
  }
  return {
    database,
    embedded: embedded !== null,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}
