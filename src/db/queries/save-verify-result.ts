import { toJsonText, type SqlClient } from "../client.js";

/** Store the outcome of a whole-trail `foreman verify` (key `last_verify`), which `/metrics` reports with its age. */
export async function saveVerifyResult(
  sql: SqlClient,
  result: { ok: boolean; records: number },
  by: string,
): Promise<void> {
  await sql`
    insert into system_settings (key, value, updated_by) values ('last_verify', ${toJsonText(result)}, ${by})
    on conflict (key) do update set value = excluded.value, updated_by = excluded.updated_by, updated_at = now()`;
}
