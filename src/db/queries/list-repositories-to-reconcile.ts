import type { SqlClient } from "../client.js";

/** A repository the reconciliation sweep looks at, with the trigger labels its config last declared. */
export interface RepositoryToReconcile {
  id: number;
  installationId: number;
  fullName: string;
  knownTriggerLabels: string[];
}

/** Repositories Foreman has access to (not removed, their installation neither suspended nor deleted), by installation. */
export async function listRepositoriesToReconcile(sql: SqlClient): Promise<RepositoryToReconcile[]> {
  const rows = await sql<{ id: string; installation_id: string; full_name: string; known_trigger_labels: string[] }[]>`
    select r.id, r.installation_id, r.full_name, r.known_trigger_labels
      from repositories r
      left join installations i on i.id = r.installation_id
     where r.removed_at is null and (i.id is null or (not i.suspended and i.deleted_at is null))
     order by r.installation_id, r.id`;
  return rows.map((row) => ({
    id: Number(row.id),
    installationId: Number(row.installation_id),
    fullName: row.full_name,
    knownTriggerLabels: row.known_trigger_labels,
  }));
}
