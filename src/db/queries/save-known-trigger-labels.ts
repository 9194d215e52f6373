import { toJsonText, type SqlClient } from "../client.js";

/** Remember the repo's trigger labels and when they were read (creating the repository row if the install event was missed). */
export async function saveKnownTriggerLabels(
  sql: SqlClient,
  repo: { id: number; installationId: number; fullName: string },
  labels: string[],
): Promise<void> {
  await sql`
    insert into repositories (id, installation_id, full_name, known_trigger_labels, config_read_at)
    values (${repo.id}, ${repo.installationId}, ${repo.fullName}, ${toJsonText(labels)}, now())
    on conflict (id) do update set known_trigger_labels = excluded.known_trigger_labels, config_read_at = now(), updated_at = now()`;
}
