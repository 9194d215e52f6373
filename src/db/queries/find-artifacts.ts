import type { SqlClient } from "../client.js";
import type { ArtifactRow } from "./insert-artifact.js";

/** The `artifacts` rows for some addresses, with when each was first stored (ISO 8601). */
export async function findArtifacts(
  sql: SqlClient,
  hashes: readonly string[],
): Promise<Array<ArtifactRow & { createdAt: string }>> {
  if (hashes.length === 0) return [];
  const rows = await sql<Array<{ sha256: string; kind: string; size: string; createdAt: string }>>`
    select sha256, kind, size, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt"
    from artifacts where sha256 = any(${hashes as string[]}::text[]) order by sha256`;
  return rows.map((row) => ({ sha256: row.sha256, kind: row.kind, size: Number(row.size), createdAt: row.createdAt }));
}
