import { toJsonText, type SqlClient } from "../client.js";

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
