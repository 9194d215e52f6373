import { toJsonText, type SqlClient } from "../client.js";

/** The global pause as stored: who paused, when, and why. */
export interface PauseSetting {
  paused: boolean;
  reason: string | null;
  by: string;
  at: string;
}

/** Read the global pause (null when never set). */
export async function findPauseSetting(sql: SqlClient): Promise<PauseSetting | null> {
  const [row] = await sql<
    { value: { paused: boolean; reason: string | null }; updated_by: string; updated_at: Date }[]
  >`
    select value, updated_by, updated_at from system_settings where key = 'paused'`;
  if (!row) return null;
  return {
    paused: row.value.paused === true,
    reason: row.value.reason ?? null,
    by: row.updated_by,
    at: new Date(String(row.updated_at)).toISOString(),
  };
}

/** Set or lift the global pause. */
export async function savePauseSetting(
  sql: SqlClient,
  paused: boolean,
  reason: string | null,
  by: string,
): Promise<void> {
  await sql`
    insert into system_settings (key, value, updated_by) values ('paused', ${toJsonText({ paused, reason })}, ${by})
    on conflict (key) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`;
}
