import { toJsonText, type SqlClient } from "../client.js";

/** Trigger labels the repo's config declared when Foreman last read it. */
export async function findKnownTriggerLabels(sql: SqlClient, repoId: number): Promise<string[]> {
  const [row] = await sql<{ labels: string[] }[]>`select known_trigger_labels as labels from repositories where id = ${repoId}`;
  return row?.labels ?? [];
}

/** Remember the repo's trigger labels (creating the repository row if the install event was missed). */
export async function saveKnownTriggerLabels(sql: SqlClient, repo: { id: number; installationId: number; fullName: string }, labels: string[]): Promise<void> {
  await sql`
    insert into repositories (id, installation_id, full_name, known_trigger_labels)
    values (${repo.id}, ${repo.installationId}, ${repo.fullName}, ${toJsonText(labels)})
    on conflict (id) do update set known_trigger_labels = excluded.known_trigger_labels, updated_at = now()`;
}
