import type { SqlClient } from "../client.js";

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
