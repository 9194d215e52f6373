import type { SqlClient } from "../client.js";

/** One runtime setting as stored in `system_settings`. */
export interface SystemSetting {
  key: string;
  value: unknown;
  by: string;
  at: string;
}

/** Every runtime setting (the pause, and any other key a later version stores), by key. */
export async function listSystemSettings(sql: SqlClient): Promise<SystemSetting[]> {
  const rows = await sql<{ key: string; value: unknown; updated_by: string; updated_at: Date }[]>`
    select key, value, updated_by, updated_at from system_settings order by key`;
  return rows.map((row) => ({
    key: row.key,
    value: row.value,
    by: row.updated_by,
    at: new Date(String(row.updated_at)).toISOString(),
  }));
}
