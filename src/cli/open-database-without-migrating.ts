import type { Env } from "../config/env.js";
import { openDatabase, type Database } from "../db/client.js";
import { startEmbeddedPostgres } from "../db/embedded.js";

/**
 * The configured database for a command that only reads (`foreman verify`): no migrations, so a
 * role with SELECT alone is enough. With no DATABASE_URL the embedded server under DATA_DIR is
 * started (stop `foreman serve` first: one server per data folder).
 */
export async function openDatabaseWithoutMigrating(env: Env): Promise<{ database: Database; close(): Promise<void> }> {
  const embedded = env.DATABASE_URL === undefined ? await startEmbeddedPostgres({ dataDir: env.DATA_DIR, port: env.EMBEDDED_POSTGRES_PORT }) : null;
  const database = openDatabase(embedded?.url ?? env.DATABASE_URL!, { max: 2 });
  return {
    database,
    async close() {
      await database.close();
      await embedded?.stop();
    },
  };
}
