import type { SqlClient } from "../client.js";

/** The newest record's `seq` and `hash`, or null while the chain is empty. */
export async function findChainHead(sql: SqlClient): Promise<{ seq: number; hash: string } | null> {
  const [row] = await sql<
    Array<{ seq: string; hash: string }>
  >`select seq, hash from compliance_records order by seq desc limit 1`;
  return row ? { seq: Number(row.seq), hash: row.hash } : null;
}
