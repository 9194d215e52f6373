import type { SignedCheckpoint } from "../../chain/checkpoints.js";
import type { SqlClient } from "../client.js";

/** Checkpoints after `afterSeq`, oldest first, at most `limit`. */
export async function listCheckpoints(sql: SqlClient, afterSeq: number, limit: number): Promise<SignedCheckpoint[]> {
  const rows = await sql<Array<{ seq: string; hash: string; time: string; signature: string; keyId: string }>>`
    select seq, hash, time, signature, key_id as "keyId" from compliance_checkpoints where seq > ${afterSeq} order by seq limit ${limit}`;
  return rows.map((row) => ({
    seq: Number(row.seq),
    hash: row.hash,
    time: row.time,
    signature: row.signature,
    keyId: row.keyId,
  }));
}
