import type { SqlClient } from "../client.js";

/** The chain's length and the newest checkpoint, by the database's clock. */
export interface ChainStatus {
  /** The newest record's `seq` (0 while the chain is empty). */
  length: number;
  /** The newest checkpoint's `seq` and how long ago it was stored; null when none was made. */
  checkpointSeq: number | null;
  checkpointAgeSeconds: number | null;
  /** What the last `foreman verify` of the whole trail stored (`system_settings` key `last_verify`); null when it never ran. */
  lastVerify: { ok: boolean; ageSeconds: number } | null;
}

/** Read the chain head, the newest checkpoint and the last verify's outcome in one round trip. */
export async function findChainStatus(sql: SqlClient): Promise<ChainStatus> {
  const [row] = await sql<
    Array<{
      length: string | null;
      checkpoint_seq: string | null;
      checkpoint_age: number | null;
      verify_ok: boolean | null;
      verify_age: number | null;
    }>
  >`
    select
      (select max(seq) from compliance_records) as length,
      c.seq as checkpoint_seq,
      extract(epoch from now() - c.created_at)::float8 as checkpoint_age,
      (v.value->>'ok')::boolean as verify_ok,
      extract(epoch from now() - v.updated_at)::float8 as verify_age
    from (select 1) as one
    left join lateral (select seq, created_at from compliance_checkpoints order by seq desc limit 1) c on true
    left join system_settings v on v.key = 'last_verify'`;
  return {
    length: Number(row?.length ?? 0),
    checkpointSeq: row?.checkpoint_seq == null ? null : Number(row.checkpoint_seq),
    checkpointAgeSeconds: row?.checkpoint_age == null ? null : Math.max(0, row.checkpoint_age),
    lastVerify: row?.verify_ok == null ? null : { ok: row.verify_ok, ageSeconds: Math.max(0, row.verify_age ?? 0) },
  };
}
