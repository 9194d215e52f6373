import type { SqlClient } from "../client.js";

/** One stored runtime setting: its value and who set it when. */
export interface StoredSetting {
  value: unknown;
  by: string;
  at: string;
}

/** Every runtime setting stored in `system_settings`, by key. */
export async function findSystemSettings(sql: SqlClient): Promise<Map<string, StoredSetting>> {
  const rows = await sql<{ key: string; value: unknown; updated_by: string; updated_at: Date }[]>`
    select key, value, updated_by, updated_at from system_settings`;
  return new Map(
    rows.map((row) => [
      row.key,
      { value: row.value, by: row.updated_by, at: new Date(String(row.updated_at)).toISOString() },
    ]),
  );
}
