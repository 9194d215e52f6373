import type { SqlClient } from "../client.js";

/** How long trigger labels learned from a repo's config are trusted before it is read again. */
export const KNOWN_LABELS_TTL_MINUTES = 10;

/**
 * Trigger labels the repo's config declared when Foreman last read it — or null when it has not
 * read it in the last KNOWN_LABELS_TTL_MINUTES (then any label may be a trigger, and the config is read).
 */
export async function findKnownTriggerLabels(sql: SqlClient, repoId: number): Promise<string[] | null> {
  const [row] = await sql<{ labels: string[]; fresh: boolean }[]>`
    select known_trigger_labels as labels,
           coalesce(config_read_at > now() - make_interval(mins => ${KNOWN_LABELS_TTL_MINUTES}), false) as fresh
      from repositories where id = ${repoId}`;
  return row?.fresh ? row.labels : null;
}
