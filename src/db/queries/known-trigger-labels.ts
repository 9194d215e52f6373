import { eq } from "drizzle-orm";
import type { DbOrTx } from "../client.js";
import { repositories } from "../schema.js";

/** Trigger labels the repo's config declared when Foreman last read it. */
export async function findKnownTriggerLabels(db: DbOrTx, repoId: number): Promise<string[]> {
  const [row] = await db.select({ labels: repositories.knownTriggerLabels }).from(repositories).where(eq(repositories.id, repoId)).limit(1);
  return row?.labels ?? [];
}

/** Remember the repo's trigger labels (creating the repository row if the install event was missed). */
export async function saveKnownTriggerLabels(db: DbOrTx, repo: { id: number; installationId: number; fullName: string }, labels: string[]): Promise<void> {
  await db
    .insert(repositories)
    .values({ id: repo.id, installationId: repo.installationId, fullName: repo.fullName, knownTriggerLabels: labels })
    .onConflictDoUpdate({ target: repositories.id, set: { knownTriggerLabels: labels, updatedAt: new Date() } });
}
