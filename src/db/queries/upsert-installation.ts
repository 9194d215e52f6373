import { sql } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { installations, repositories } from "../schema.js";

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
export async function upsertInstallation(db: DbOrTx, facts: InstallationFacts): Promise<void> {
  const values = {
    id: facts.id,
    accountLogin: facts.accountLogin,
    accountType: facts.accountType,
    suspended: facts.suspended,
    deletedAt: facts.deleted ? new Date() : null,
    updatedAt: new Date(),
  };
  await db.insert(installations).values(values).onConflictDoUpdate({ target: installations.id, set: values });
}

/** Record repositories an installation added (or re-added). */
export async function upsertRepositories(db: DbOrTx, installationId: number, repos: readonly RepositoryFacts[]): Promise<void> {
  if (repos.length === 0) return;
  await db
    .insert(repositories)
    .values(repos.map((repo) => ({ id: repo.id, installationId, fullName: repo.fullName, private: repo.private })))
    .onConflictDoUpdate({
      target: repositories.id,
      set: { installationId, fullName: sql`excluded.full_name`, private: sql`excluded.private`, removedAt: null, updatedAt: new Date() },
    });
}

/** Mark repositories removed from an installation. */
export async function markRepositoriesRemoved(db: DbOrTx, repoIds: readonly number[]): Promise<void> {
  if (repoIds.length === 0) return;
  await db.execute(sql`update repositories set removed_at = now(), updated_at = now() where id in ${sql.raw(`(${repoIds.map(Number).join(",")})`)}`);
}
