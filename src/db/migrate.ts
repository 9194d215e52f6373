import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import type { Database } from "./client.js";

/** The folder of drizzle-kit migrations, from src/ under tsx and from dist/ alike. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../migrations", import.meta.url));

// Any constant works; it only has to be the same for every replica.
const MIGRATION_LOCK_KEY = 7_340_011;

/** Apply pending migrations; replicas starting at once take turns on a session advisory lock. */
export async function runMigrations(database: Database): Promise<void> {
  const lock = await database.sql.reserve();
  try {
    await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await lock`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
    lock.release();
  }
}
