import { GENESIS_HASH, computeRecordHash, type ChainRecord } from "../../chain/chain.js";
import type { SqlClient } from "../client.js";
import { sanitizeDeep, sanitizeText } from "../sanitize-text.js";

// One chain for the whole installation of Foreman; appends take turns on this lock until commit.
const CHAIN_LOCK_KEY = 7_340_012;

/** A record to append: what happened, to which task, done by whom. */
export interface NewComplianceRecord {
  taskId: string | null;
  kind: string;
  actor: string;
  payload: unknown;
  createdAt: Date;
}

/**
 * Append records to the chain inside the caller's transaction. A transaction-scoped advisory lock
 * serialises appends across workers and replicas, so the chain never forks.
 */
export async function appendComplianceRecords(
  sql: SqlClient,
  entries: readonly NewComplianceRecord[],
): Promise<ChainRecord[]> {
  if (entries.length === 0) return [];
  // Sent together, executed in order: the head is read by a statement that starts only after the
  // lock is held, so under READ COMMITTED it sees the previous holder's committed append.
  const lock = sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`.execute();
  const head = sql<
    { seq: string; hash: string }[]
  >`select seq, hash from compliance_records order by seq desc limit 1`.execute();
  const [, [last]] = await Promise.all([lock, head]);
  let seq = last ? Number(last.seq) : 0;
  let prevHash = last?.hash ?? GENESIS_HASH;
  const rows: ChainRecord[] = [];
  for (const entry of entries) {
    seq += 1;
    // Sanitised before hashing: the hash must be that of what the database keeps, or verify fails.
    const body = {
      seq,
      taskId: entry.taskId,
      kind: sanitizeText(entry.kind),
      actor: sanitizeText(entry.actor),
      payload: sanitizeDeep(entry.payload),
      createdAt: entry.createdAt.toISOString(),
    };
    const hash = computeRecordHash(prevHash, body);
    rows.push({ ...body, prevHash, hash });
    prevHash = hash;
  }
  const values = rows.map((row) => ({
    seq: row.seq,
    task_id: row.taskId,
    kind: row.kind,
    actor: row.actor,
    payload: JSON.stringify(row.payload ?? null),
    prev_hash: row.prevHash,
    hash: row.hash,
    // ISO text, not a Date: postgres.js recognises Dates by instanceof, which fails across module realms.
    created_at: row.createdAt,
  }));
  await sql`insert into compliance_records ${sql(values as never, "seq", "task_id", "kind", "actor", "payload", "prev_hash", "hash", "created_at")}`;
  return rows;
}
