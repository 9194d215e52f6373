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
