import type { Logger } from "probot";
import type { SqlClient } from "../db/client.js";
import { renewEffectLease } from "../db/queries/renew-effect-lease.js";
import { RequestsStoppedError } from "../github/octokit.js";

/** A running effect's hold on its lease: renewed in the background until released. */
export interface EffectLease {
  /** Aborts when the lease is lost: the run must stop writing (its GitHub requests stop, see runWithRequestSignal). */
  readonly signal: AbortSignal;
  /** Whether another run may have the effect now (the lease could not be renewed). */
  readonly lost: boolean;
  /** Stop renewing (the run recorded its end, or gave up). */
  release(): void;
}

/**
 * Renew an effect's lease every `leaseMs / 3` while it runs, so a slow run (a rate-limit wait, a
 * slow GitHub) is never leased a second time. When a renewal finds the lease gone, the signal aborts.
 * A renewal that fails (the database blinked) is tried again at the next tick; the lease still has
 * two thirds of its time.
 */
export function holdEffectLease(
  sql: SqlClient,
  effect: { id: number; workerId: string; attempts: number },
  leaseMs: number,
  log: Pick<Logger, "warn">,
): EffectLease {
  const controller = new AbortController();
  let renewing = false;
  const timer = setInterval(
    () => {
      if (renewing || controller.signal.aborted) return;
      renewing = true;
      renewEffectLease(sql, effect, leaseMs)
        .then((held) => {
          if (held || controller.signal.aborted) return;
          log.warn({ effectId: effect.id }, "effect lease lost while it ran; stopping its writes");
          controller.abort(new RequestsStoppedError());
        })
        .catch((error: unknown) => log.warn({ err: error, effectId: effect.id }, "could not renew an effect lease"))
        .finally(() => {
          renewing = false;
        });
    },
    Math.max(1, Math.floor(leaseMs / 3)),
  );
  timer.unref();
  return {
    signal: controller.signal,
    get lost() {
      return controller.signal.aborted;
    },
    release: () => clearInterval(timer),
  };
}
