import type { SignedCheckpoint } from "../../chain/checkpoints.js";
import type { SqlClient } from "../client.js";

/** Store a signed checkpoint; false when one already exists at that `seq` (another replica was first). */
export async function insertCheckpoint(sql: SqlClient, checkpoint: SignedCheckpoint): Promise<boolean> {
  const rows = await sql`
    insert into compliance_checkpoints (seq, hash, time, signature, key_id)
    values (${checkpoint.seq}, ${checkpoint.hash}, ${checkpoint.time}, ${checkpoint.signature}, ${checkpoint.keyId})
    on conflict (seq) do nothing returning seq`;
  return rows.length === 1;
}
