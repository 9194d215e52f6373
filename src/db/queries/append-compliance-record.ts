import { desc, sql } from "drizzle-orm";
import { GENESIS_HASH, computeRecordHash, type ChainRecord } from "../../compliance/chain.js";
import type { DbOrTx } from "../client.js";
import { complianceRecords } from "../schema.js";

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
 * serialises appends across workers and replicas, so the chain never forks; take it last in a
 * transaction to hold it briefly.
 */
export async function appendComplianceRecords(tx: DbOrTx, entries: readonly NewComplianceRecord[]): Promise<ChainRecord[]> {
  if (entries.length === 0) return [];
  await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
  // Read only after the lock is held: under READ COMMITTED this statement's snapshot then
  // includes the previous holder's committed append, so the chain never forks.
  const [head] = await tx
    .select({ seq: complianceRecords.seq, hash: complianceRecords.hash })
    .from(complianceRecords)
    .orderBy(desc(complianceRecords.seq))
    .limit(1);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const rows: ChainRecord[] = [];
  for (const entry of entries) {
    seq += 1;
    const body = { seq, taskId: entry.taskId, kind: entry.kind, actor: entry.actor, payload: entry.payload, createdAt: entry.createdAt.toISOString() };
    const hash = computeRecordHash(prevHash, body);
    rows.push({ ...body, prevHash, hash });
    prevHash = hash;
  }
  await tx.insert(complianceRecords).values(
    rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt) })),
  );
  return rows;
}
