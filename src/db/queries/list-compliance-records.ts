import type { ChainRecord } from "../../chain/chain.js";
import type { SqlClient } from "../client.js";

/** The columns of a record as the hash covers them: `created_at` as ISO 8601 UTC with milliseconds. */
export const RECORD_COLUMNS = `seq, task_id as "taskId", kind, actor, payload, prev_hash as "prevHash", hash,
  to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "createdAt"`;

/** Turn a row read with RECORD_COLUMNS into a chain record (`seq` is a bigint, read as text). */
export function toChainRecord(row: Record<string, unknown>): ChainRecord {
  return {
    seq: Number(row.seq),
    taskId: (row.taskId as string | null) ?? null,
    kind: row.kind as string,
    actor: row.actor as string,
    payload: row.payload,
    createdAt: row.createdAt as string,
    prevHash: row.prevHash as string,
    hash: row.hash as string,
  };
}

/** One page of the chain: up to `limit` records after `afterSeq`, in `seq` order. */
export async function listComplianceRecords(sql: SqlClient, afterSeq: number, limit: number): Promise<ChainRecord[]> {
  const rows = await sql.unsafe(
    `select ${RECORD_COLUMNS} from compliance_records where seq > $1 order by seq limit $2`,
    [afterSeq, limit],
  );
  return rows.map((row) => toChainRecord(row));
}
