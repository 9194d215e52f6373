import { toJsonText, type SqlClient } from "../client.js";

/** Set one runtime setting (`null` removes it: the environment's value applies again). */
export async function saveSystemSetting(sql: SqlClient, key: string, value: unknown, by: string): Promise<void> {
  if (value === null) {
    await sql`delete from system_settings where key = ${key}`;
    return;
  }
  await sql`
    insert into system_settings (key, value, updated_by) values (${key}, ${toJsonText(value)}, ${by})
    on conflict (key) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`;
}
