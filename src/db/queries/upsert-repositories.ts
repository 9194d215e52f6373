import type { SqlClient } from "../client.js";
import type { RepositoryFacts } from "./upsert-installation.js";

/** Record repositories an installation added (or re-added). */
export async function upsertRepositories(
  sql: SqlClient,
  installationId: number,
  repos: readonly RepositoryFacts[],
): Promise<void> {
  if (repos.length === 0) return;
  const rows = repos.map((repo) => ({
    id: repo.id,
    installation_id: installationId,
    full_name: repo.fullName,
    private: repo.private,
  }));
  await sql`
    insert into repositories ${sql(rows, "id", "installation_id", "full_name", "private")}
    on conflict (id) do update
       set installation_id = excluded.installation_id, full_name = excluded.full_name, private = excluded.private,
           removed_at = null, updated_at = now()`;
}
