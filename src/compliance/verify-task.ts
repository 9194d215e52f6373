import type { SqlClient } from "../db/client.js";
import { findRecordHashes } from "../db/queries/find-record-hashes.js";
import { listTaskComplianceRecords } from "../db/queries/list-task-compliance-records.js";
import type { ArtifactStatus } from "./artifact-refs.js";
import type { ArtifactStore } from "./artifacts.js";
import { computeRecordHash, GENESIS_HASH, type ChainRecord } from "../chain/chain.js";
import { checkRecordArtifacts, type VerifyFailure } from "./verify-database.js";

/** The result of verifying one task's records. */
export interface TaskVerification {
  ok: boolean;
  taskId: string;
  records: number;
  artifacts: { checked: number; storeChecked: boolean };
  failure: VerifyFailure | null;
}

/** What verifying a task read on the way, for the evidence bundle: its records and each artifact's status. */
export interface TaskMaterial {
  chain: ChainRecord[];
  artifactStatus: ReadonlyMap<string, ArtifactStatus>;
}

/**
 * Check one task's records against the chain they belong to. They are a subset of the chain, so each
 * is checked on its own: its hash from its content and `prev_hash`, and that `prev_hash` is the hash
 * of the record just before it in the chain. Pure; `predecessors` maps `seq` to the stored hash.
 */
export function verifyTaskLinks(
  records: readonly ChainRecord[],
  predecessors: ReadonlyMap<number, string>,
): VerifyFailure | null {
  for (const record of records) {
    const hash = computeRecordHash(record.prevHash, record);
    if (hash !== record.hash) {
      return { seq: record.seq, problem: `stored hash ${record.hash} does not match its content (recomputed ${hash})` };
    }
    const expected = record.seq === 1 ? GENESIS_HASH : predecessors.get(record.seq - 1);
    if (expected === undefined) {
      return {
        seq: record.seq,
        problem: `record ${record.seq - 1}, which record ${record.seq} follows, is missing from the chain`,
      };
    }
    if (record.prevHash !== expected) {
      return {
        seq: record.seq,
        problem: `prev_hash ${record.prevHash} is not the hash of record ${record.seq - 1} (${expected})`,
      };
    }
  }
  return null;
}

/** Verify one task's records and the artifacts they reference, reading them from the database. */
export async function verifyTask(
  sql: SqlClient,
  taskId: string,
  store: ArtifactStore | null,
): Promise<TaskVerification & TaskMaterial> {
  const records = await listTaskComplianceRecords(sql, taskId);
  const predecessors = await findRecordHashes(
    sql,
    records.filter((record) => record.seq > 1).map((record) => record.seq - 1),
  );
  const linkFailure = verifyTaskLinks(records, predecessors);
  const artifacts = store
    ? await checkArtifacts(records, store)
    : { seen: new Map<string, ArtifactStatus>(), failure: null };
  // The earlier of the two problems is the one to name.
  const failure =
    [linkFailure, artifacts.failure].filter((entry) => entry !== null).sort((a, b) => a.seq - b.seq)[0] ?? null;
  return {
    ok: failure === null,
    taskId,
    records: records.length,
    artifacts: { checked: artifacts.seen.size, storeChecked: store !== null },
    failure,
    chain: records,
    artifactStatus: artifacts.seen,
  };
}

async function checkArtifacts(
  records: readonly ChainRecord[],
  store: ArtifactStore,
): Promise<{ seen: Map<string, ArtifactStatus>; failure: VerifyFailure | null }> {
  const seen = new Map<string, ArtifactStatus>();
  let failure: VerifyFailure | null = null;
  for (const record of records) {
    const problem = await checkRecordArtifacts(record, store, seen);
    if (problem && failure === null) failure = { seq: record.seq, problem };
  }
  return { seen, failure };
}
