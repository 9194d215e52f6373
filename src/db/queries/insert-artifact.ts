import type { SqlClient } from "../client.js";

/** An artifact's row: its address, what it is, how big it is. */
export interface ArtifactRow {
  sha256: string;
  kind: string;
  size: number;
}

/** Record a stored artifact; storing the same content again changes nothing. */
export async function insertArtifact(sql: SqlClient, row: ArtifactRow): Promise<void> {
  await sql`insert into artifacts (sha256, kind, size) values (${row.sha256}, ${row.kind}, ${row.size}) on conflict (sha256) do nothing`;
}
