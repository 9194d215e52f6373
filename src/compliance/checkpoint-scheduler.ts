import type { Logger } from "pino";
import { emitForemanEvent } from "../events/foreman-events.js";
import type { SqlClient } from "../db/client.js";
import { deliverPendingHooks, type HookDeliveryConfig, type HookDeliveryReport } from "./change-hook.js";
import type { CheckpointSigner, SignedCheckpoint } from "../chain/checkpoints.js";
import { createCheckpoint, type CheckpointPolicy } from "./create-checkpoint.js";

/** What the compliance scheduler needs. */
export interface CheckpointSchedulerOptions {
  sql: SqlClient;
  /** Null: no checkpoints are made (only notifications are delivered). */
  signer: CheckpointSigner | null;
  policy: CheckpointPolicy;
  /** Queue each new checkpoint for `CHECKPOINT_PUBLISH_URL`. */
  publish: boolean;
  hooks: HookDeliveryConfig;
  log: Pick<Logger, "warn" | "error">;
  fetch?: typeof fetch;
  now?: () => Date;
  /** How often to look (default 15 s); a checkpoint is made only when the policy says it is due. */
  intervalMs?: number;
  /**
   * This process's replica name, and whether it has just taken its liveness lock (`restarted`): the
   * first round then also reclaims hooks leased under its own name by its dead predecessor.
   */
  replica?: { name: string; restarted: string | null };
}

/** What one round did. */
export interface ComplianceTickResult {
  checkpoint: SignedCheckpoint | null;
  hooks: HookDeliveryReport;
}

/** One round: make a checkpoint if one is due, then deliver due notifications. */
export async function runComplianceTick(options: CheckpointSchedulerOptions): Promise<ComplianceTickResult> {
  const now = (options.now ?? (() => new Date()))();
  const checkpoint = options.signer
    ? await createCheckpoint(options.sql, options.signer, now, { policy: options.policy, publish: options.publish })
    : null;
  const hooks = await deliverPendingHooks(options.sql, options.fetch ?? fetch, now, {
    ...options.hooks,
    log: options.hooks.log ?? options.log,
    claimer: options.hooks.claimer ?? { replica: options.replica?.name ?? null, restarted: options.replica?.restarted },
  });
  return { checkpoint, hooks };
}

/**
 * Run compliance rounds in the background until stopped: checkpoints of the chain head and the
 * durable delivery of change hooks and checkpoint publications. A failed round is logged and the
 * next one tries again. Returns a function that stops the loop and waits for a round in flight.
 */
export function startCheckpointScheduler(options: CheckpointSchedulerOptions): () => Promise<void> {
  const intervalMs = options.intervalMs ?? 15_000;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  // Only the first round may take leases under this process's own name (its predecessor's).
  let current = options;
  const round = async () => {
    try {
      await runComplianceTick(current);
      if (current.replica) current = { ...current, replica: { ...current.replica, restarted: null } };
      emitForemanEvent({ type: "checkpoint.round", ok: true });
    } catch (error) {
      emitForemanEvent({ type: "checkpoint.round", ok: false });
      options.log.error({ err: error }, "compliance round failed");
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      inFlight = round().finally(schedule);
    }, intervalMs);
    timer.unref();
  };
  inFlight = round().finally(schedule);

  return async () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    await inFlight;
  };
}
