import type { SignedCheckpoint } from "../../chain/checkpoints.js";
import type { SqlClient } from "../client.js";

/** The checkpoint with the highest `seq`, or null when none was made yet. */
export async function findLatestCheckpoint(sql: SqlClient): Promise<SignedCheckpoint | null> {
  const [row] = await sql<Array<{ seq: string; hash: string; time: string; signature: string; keyId: string }>>`
    select seq, hash, time, signature, key_id as "keyId" from compliance_checkpoints order by seq desc limit 1`;
  return row
    ? { seq: Number(row.seq), hash: row.hash, time: row.time, signature: row.signature, keyId: row.keyId }
    : null;
}
