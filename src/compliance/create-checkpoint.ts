import type { SqlClient } from "../db/client.js";
import { findChainHead } from "../db/queries/find-chain-head.js";
import { findLatestCheckpoint } from "../db/queries/find-latest-checkpoint.js";
import { insertCheckpoint } from "../db/queries/insert-checkpoint.js";
import { insertOutboundHook } from "../db/queries/insert-outbound-hook.js";
import { tryCheckpointLock } from "../db/queries/try-checkpoint-lock.js";
import { withTransaction } from "../db/with-transaction.js";
import { signCheckpoint, type CheckpointSigner, type SignedCheckpoint } from "../chain/checkpoints.js";

/** When a checkpoint is due: after this many new records, or this long after the last one if the head moved. */
export interface CheckpointPolicy {
  everyRecords: number;
  everyMinutes: number;
}

/** Options for one checkpoint attempt. */
export interface CreateCheckpointOptions {
  /** Without a policy, any movement of the head is enough. */
  policy?: CheckpointPolicy;
  /** Queue the checkpoint for `CHECKPOINT_PUBLISH_URL` in the same transaction. */
  publish?: boolean;
}

/** Whether to sign the head now. Never when the head has not moved since the last checkpoint. Pure. */
export function isCheckpointDue(
  head: { seq: number } | null,
  last: Pick<SignedCheckpoint, "seq" | "time"> | null,
  now: Date,
  policy?: CheckpointPolicy,
): boolean {
  if (!head || head.seq <= (last?.seq ?? 0)) return false;
  if (!last || !policy) return true;
  if (head.seq - last.seq >= policy.everyRecords) return true;
  return now.getTime() - Date.parse(last.time) >= policy.everyMinutes * 60_000;
}

/** The JSON posted to `CHECKPOINT_PUBLISH_URL`: the signed checkpoint and how to check it. */
export function buildCheckpointPublication(checkpoint: SignedCheckpoint): string {
  return JSON.stringify({
    type: "foreman.checkpoint",
    seq: checkpoint.seq,
    hash: checkpoint.hash,
    time: checkpoint.time,
    keyId: checkpoint.keyId,
    signature: checkpoint.signature,
    algorithm: "Ed25519 over the RFC 8785 canonical JSON of {seq, hash, time}",
  });
}

/**
 * Sign the current chain head and store the checkpoint; null when there is nothing new to sign,
 * it is not due yet, or another replica is making one right now.
 */
export async function createCheckpoint(
  sql: SqlClient,
  signer: CheckpointSigner,
  now: Date,
  options: CreateCheckpointOptions = {},
): Promise<SignedCheckpoint | null> {
  return withTransaction(sql, async (tx) => {
    if (!(await tryCheckpointLock(tx))) return null;
    const head = await findChainHead(tx);
    const last = await findLatestCheckpoint(tx);
    if (!head || !isCheckpointDue(head, last, now, options.policy)) return null;
    const checkpoint = signCheckpoint({ seq: head.seq, hash: head.hash, time: now.toISOString() }, signer);
    if (!(await insertCheckpoint(tx, checkpoint))) return null;
    if (options.publish) {
      await insertOutboundHook(tx, {
        kind: "checkpoint",
        idempotencyKey: `checkpoint:${checkpoint.seq}`,
        taskId: null,
        body: buildCheckpointPublication(checkpoint),
        nextAt: now,
      });
    }
    return checkpoint;
  });
}
