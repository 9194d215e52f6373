import type { SqlClient } from "../client.js";

/** An installation as a webhook describes it. */
export interface InstallationFacts {
  id: number;
  accountLogin: string;
  accountType: string;
  suspended: boolean;
  deleted: boolean;
}

/** A repository as a webhook describes it. */
export interface RepositoryFacts {
  id: number;
  fullName: string;
  private: boolean;
}

/** Create or update an installation. */
export async function upsertInstallation(sql: SqlClient, facts: InstallationFacts): Promise<void> {
  await sql`
    insert into installations (id, account_login, account_type, suspended, deleted_at)
    values (${facts.id}, ${facts.accountLogin}, ${facts.accountType}, ${facts.suspended}, ${facts.deleted ? new Date().toISOString() : null})
    on conflict (id) do update
       set account_login = excluded.account_login, account_type = excluded.account_type,
           suspended = excluded.suspended, deleted_at = excluded.deleted_at, updated_at = now()`;
}

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

/** Mark repositories removed from an installation. */
export async function markRepositoriesRemoved(sql: SqlClient, repoIds: readonly number[]): Promise<void> {
  if (repoIds.length === 0) return;
  await sql`update repositories set removed_at = now(), updated_at = now() where id in ${sql(repoIds as number[])}`;
}
