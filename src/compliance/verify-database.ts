import type { KeyObject } from "node:crypto";
import type postgres from "postgres";
import type { SqlClient } from "../db/client.js";
import { listCheckpoints } from "../db/queries/list-checkpoints.js";
import { listComplianceRecords } from "../db/queries/list-compliance-records.js";
import { findChainHead } from "../db/queries/find-chain-head.js";
import { describeArtifactProblem, listArtifactRefs, type ArtifactStatus } from "./artifact-refs.js";
import type { ArtifactStore } from "./artifacts.js";
import { GENESIS_HASH, verifyChain, type ChainRecord } from "../chain/chain.js";
import { checkArtifact } from "./check-artifact.js";
import { verifyCheckpointSignature, type SignedCheckpoint } from "../chain/checkpoints.js";

/** What `verifyDatabase` checks with: the artifact store and the public keys of checkpoints (null: not checked). */
export interface VerifyDatabaseOptions {
  artifacts: ArtifactStore | null;
  publicKeys: ReadonlyMap<string, KeyObject> | null;
  /** Records read per query; the chain is never loaded at once. */
  pageSize?: number;
  /** Told after each page how far the walk is: records verified so far, of the chain's length when it started. */
  onProgress?: (progress: { verified: number; total: number }) => void;
}

/** The first record (by `seq`) that does not check out, and why. */
export interface VerifyFailure {
  seq: number;
  problem: string;
}

/** The result of verifying the whole trail. */
export interface DatabaseVerification {
  ok: boolean;
  records: number;
  head: { seq: number; hash: string } | null;
  artifacts: { checked: number; storeChecked: boolean };
  checkpoints: { total: number; matched: number; signaturesChecked: boolean; latestSeq: number | null };
  failure: VerifyFailure | null;
  warnings: string[];
}

const DEFAULT_PAGE_SIZE = 1000;

/**
 * Verify the trail: walk the chain in `seq` order page by page, recompute every hash, check every
 * artifact a record references, and check every checkpoint's signature and that the record at its
 * `seq` still has the hash it signed. Reads one consistent snapshot; stops at the first bad record.
 */
export async function verifyDatabase(sql: SqlClient, options: VerifyDatabaseOptions): Promise<DatabaseVerification> {
  const run = (tx: SqlClient) => walkTrail(tx, options);
  if ("begin" in sql)
    return (await (sql as postgres.Sql).begin(
      "isolation level repeatable read read only",
      run,
    )) as DatabaseVerification;
  return run(sql);
}

async function walkTrail(sql: SqlClient, options: VerifyDatabaseOptions): Promise<DatabaseVerification> {
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const checkpoints = await loadAllCheckpoints(sql, pageSize);
  const checkpointAt = new Map(checkpoints.map((checkpoint) => [checkpoint.seq, checkpoint]));
  const artifactStatus = new Map<string, ArtifactStatus>();
  const result: DatabaseVerification = {
    ok: true,
    records: 0,
    head: null,
    artifacts: { checked: 0, storeChecked: options.artifacts !== null },
    checkpoints: {
      total: checkpoints.length,
      matched: 0,
      signaturesChecked: options.publicKeys !== null,
      latestSeq: checkpoints.at(-1)?.seq ?? null,
    },
    failure: null,
    warnings: [],
  };
  const fail = (seq: number, problem: string): DatabaseVerification => ({
    ...result,
    ok: false,
    artifacts: { ...result.artifacts, checked: artifactStatus.size },
    failure: { seq, problem },
  });

  // The chain's length in this snapshot (seq has no gaps in a sound chain; a gap is reported anyway).
  const total = options.onProgress ? ((await findChainHead(sql))?.seq ?? 0) : 0;
  let start = { seq: 0, hash: GENESIS_HASH };
  for (;;) {
    const page = await listComplianceRecords(sql, start.seq, pageSize);
    if (page.length === 0) break;
    const verdict = verifyChain(page, start);
    // Records before the first broken link are checked further, so the earliest problem is named.
    const brokenAt = verdict.ok ? Number.POSITIVE_INFINITY : verdict.seq;
    for (const record of page) {
      if (record.seq >= brokenAt) break;
      const checkpoint = checkpointAt.get(record.seq);
      const problem =
        (checkpoint ? checkCheckpoint(checkpoint, record, options.publicKeys) : null) ??
        (await checkRecordArtifacts(record, options.artifacts, artifactStatus));
      if (problem) return fail(record.seq, problem);
      if (checkpoint) result.checkpoints.matched += 1;
      result.records += 1;
      result.head = { seq: record.seq, hash: record.hash };
    }
    if (!verdict.ok) return fail(verdict.seq, verdict.problem);
    options.onProgress?.({ verified: result.records, total });
    start = result.head!;
  }
  result.artifacts.checked = artifactStatus.size;

  const beyond = checkpoints.find((checkpoint) => checkpoint.seq > start.seq);
  if (beyond) {
    return fail(
      beyond.seq,
      `the checkpoint signed at ${beyond.time} says record ${beyond.seq} exists with hash ${beyond.hash}, but the chain ends at seq ${start.seq}: records after ${start.seq} were removed`,
    );
  }
  if (!result.checkpoints.signaturesChecked && checkpoints.length > 0) {
    result.warnings.push(
      "checkpoint signatures were not checked: set CHECKPOINT_PUBLIC_KEY (or CHECKPOINT_SIGNING_KEY) to check them",
    );
  }
  if (!result.artifacts.storeChecked) result.warnings.push("artifacts were not checked: no artifact store");
  const unanchored = start.seq - (result.checkpoints.latestSeq ?? 0);
  if (unanchored > 0) {
    result.warnings.push(
      `${unanchored} record(s) after the last checkpoint are protected by the chain only; removing them from the end would not be detected`,
    );
  }
  return result;
}

async function loadAllCheckpoints(sql: SqlClient, pageSize: number): Promise<SignedCheckpoint[]> {
  const all: SignedCheckpoint[] = [];
  for (;;) {
    const page = await listCheckpoints(sql, all.at(-1)?.seq ?? 0, pageSize);
    all.push(...page);
    if (page.length < pageSize) return all;
  }
}

/** Whether a checkpoint is genuine and still matches the record at its `seq`; null when it does. */
export function checkCheckpoint(
  checkpoint: SignedCheckpoint,
  record: ChainRecord,
  publicKeys: ReadonlyMap<string, KeyObject> | null,
): string | null {
  if (publicKeys) {
    const key = publicKeys.get(checkpoint.keyId);
    if (!key)
      return `checkpoint at seq ${checkpoint.seq} was signed by key ${checkpoint.keyId}, which is not among the configured public keys (CHECKPOINT_PUBLIC_KEY)`;
    if (!verifyCheckpointSignature(checkpoint, key)) {
      return `checkpoint at seq ${checkpoint.seq} has an invalid signature: its seq, hash or time were changed after it was signed`;
    }
  }
  if (checkpoint.hash !== record.hash) {
    return `record ${record.seq} has hash ${record.hash}, but the checkpoint signed at ${checkpoint.time} says ${checkpoint.hash}: the chain was rewritten after the checkpoint`;
  }
  return null;
}

/** Check the artifacts a record references (each address once per run); null when all are present and intact. */
export async function checkRecordArtifacts(
  record: ChainRecord,
  store: ArtifactStore | null,
  seen: Map<string, ArtifactStatus>,
): Promise<string | null> {
  const refs = listArtifactRefs(record.payload);
  if (!refs.ok) return refs.problem;
  if (!store) return null;
  for (const ref of refs.refs) {
    let status = seen.get(ref.sha256);
    if (status === undefined) {
      status = await checkArtifact(store, ref.sha256);
      seen.set(ref.sha256, status);
    }
    if (status !== "ok") return describeArtifactProblem(ref, status);
  }
  return null;
}
