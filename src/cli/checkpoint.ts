import type { Env } from "../config/env.js";
import { loadCheckpointSigner } from "../chain/checkpoints.js";
import { createCheckpoint } from "../compliance/create-checkpoint.js";
import type { SqlClient } from "../db/client.js";

/** `foreman checkpoint`: sign the chain head now (the scheduler does this on its own while serving). */
export async function runCheckpointCommand(
  env: Env,
  sql: SqlClient,
  out: (text: string) => void,
  now = new Date(),
): Promise<number> {
  if (!env.CHECKPOINT_SIGNING_KEY) {
    out(
      "CHECKPOINT_SIGNING_KEY is not set: create a key with `foreman keys generate` and set CHECKPOINT_SIGNING_KEY (or CHECKPOINT_SIGNING_KEY_FILE).",
    );
    return 2;
  }
  const checkpoint = await createCheckpoint(sql, loadCheckpointSigner(env.CHECKPOINT_SIGNING_KEY), now, {
    publish: env.CHECKPOINT_PUBLISH_URL !== undefined,
  });
  out(
    checkpoint
      ? `Checkpoint at seq ${checkpoint.seq}: ${checkpoint.hash} (key ${checkpoint.keyId}, ${checkpoint.time})`
      : "No new checkpoint: the chain is empty or has not moved since the last one.",
  );
  return 0;
}
