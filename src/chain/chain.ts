import { createHash } from "node:crypto";
import canonicalize from "canonicalize";

/** The hash a chain starts from: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/** The fields of a record that its hash covers. */
export interface ChainRecordBody {
  seq: number;
  taskId: string | null;
  kind: string;
  actor: string;
  payload: unknown;
  createdAt: string;
}

/** A record as stored: its body plus the link to the previous record and its own hash. */
export interface ChainRecord extends ChainRecordBody {
  prevHash: string;
  hash: string;
}

/** RFC 8785 canonical JSON of a value; throws on values JSON cannot represent. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value cannot be represented as canonical JSON");
  return text;
}

/** `sha256(prev_hash ‖ canonical(record))`, hex: the link that makes the trail tamper-evident. */
export function computeRecordHash(prevHash: string, body: ChainRecordBody): string {
  const canonical = canonicalJson({
    seq: body.seq,
    taskId: body.taskId,
    kind: body.kind,
    actor: body.actor,
    payload: body.payload,
    createdAt: body.createdAt,
  });
  return createHash("sha256").update(prevHash).update(canonical).digest("hex");
}

/** What a chain check found: fine, or the first record that does not fit and why. */
export type ChainVerdict = { ok: true; count: number; headHash: string } | { ok: false; seq: number; problem: string };

/**
 * Walk records in `seq` order and recompute every link. Names the first record whose sequence
 * number skips, whose `prev_hash` does not match, or whose hash does not match its content.
 */
export function verifyChain(
  records: readonly ChainRecord[],
  start: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
): ChainVerdict {
  let expectedSeq = start.seq + 1;
  let prevHash = start.hash;
  for (const record of records) {
    if (record.seq !== expectedSeq) {
      return {
        ok: false,
        seq: record.seq,
        problem: `expected seq ${expectedSeq}, found ${record.seq} (a record is missing or out of order)`,
      };
    }
    if (record.prevHash !== prevHash) {
      return {
        ok: false,
        seq: record.seq,
        problem: `prev_hash ${record.prevHash} does not match the previous record's hash ${prevHash}`,
      };
    }
    const hash = computeRecordHash(prevHash, record);
    if (hash !== record.hash) {
      return {
        ok: false,
        seq: record.seq,
        problem: `stored hash ${record.hash} does not match its content (recomputed ${hash})`,
      };
    }
    prevHash = record.hash;
    expectedSeq += 1;
  }
  return { ok: true, count: records.length, headHash: prevHash };
}
