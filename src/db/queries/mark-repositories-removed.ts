import type { SqlClient } from "../client.js";

/** Mark repositories removed from an installation. */
export async function markRepositoriesRemoved(sql: SqlClient, repoIds: readonly number[]): Promise<void> {
  if (repoIds.length === 0) return;
  await sql`update repositories set removed_at = now(), updated_at = now() where id in ${sql(repoIds as number[])}`;
}
