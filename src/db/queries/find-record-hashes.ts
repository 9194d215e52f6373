import type { SqlClient } from "../client.js";

/** The stored hash of each of some records, by `seq` (absent seqs are missing from the map). */
export async function findRecordHashes(sql: SqlClient, seqs: readonly number[]): Promise<Map<number, string>> {
  if (seqs.length === 0) return new Map();
  const rows = await sql<
    Array<{ seq: string; hash: string }>
  >`select seq, hash from compliance_records where seq = any(${seqs.map(String)}::bigint[])`;
  return new Map(rows.map((row) => [Number(row.seq), row.hash]));
}
