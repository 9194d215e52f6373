import type { SqlClient } from "../db/client.js";
import { listOwnEffectLeases } from "../db/queries/list-own-effect-leases.js";
import { releaseOwnEffectLeases } from "../db/queries/release-own-effect-leases.js";

/**
 * The effects this process is running, in memory: what its own lease sweep compares the leases under
 * its name with. A lease under this replica's name that it does not run is one whose end was never
 * recorded (PostgreSQL restarted under the statement, or the commit's answer was lost): nothing else
 * frees it, as the replica is alive (docs/adr/0005), so without this it waits out its 60 s lease.
 * Claims in flight are tracked too: a claim may have committed before its answer arrived, and its
 * effect is not in memory yet.
 */
export class LocalEffectLeases {
  #running = new Set<number>();
  #claims = new Set<Promise<unknown>>();

  /**
   * Run a claim (a statement or a transaction that may lease an effect) and record the effect it
   * leased, if any, as running here before the claim counts as settled.
   */
  async trackClaim<T>(claim: () => Promise<T>, leased: (result: T) => number | null): Promise<T> {
    const running = claim().then((result) => {
      const id = leased(result);
      if (id !== null) this.#running.add(id);
      return result;
    });
    this.#claims.add(running);
    try {
      return await running;
    } finally {
      this.#claims.delete(running);
    }
  }

  /** The run of effect `id` here has ended (recorded or given up). */
  forget(id: number): void {
    this.#running.delete(id);
  }

  /** Whether effect `id` runs in this process now. */
  isRunning(id: number): boolean {
    return this.#running.has(id);
  }

  /** Resolves once every claim in flight now has settled (their effects are then in memory). */
  async settleClaims(): Promise<void> {
    await Promise.allSettled([...this.#claims]);
  }
}

/**
 * This replica's own lease sweep: effects leased under `replica` that this process does not run go
 * back to the queue at once. Sound only while this process holds its liveness lock (no other live
 * process has the name), which the caller checks. Leases are read first, then the claims in flight
 * at that moment are awaited (one of them may have leased a row just read), then what is still not
 * running here is freed, each only at the attempt that was read. Returns how many went back.
 */
export async function releaseOwnIdleLeases(sql: SqlClient, replica: string, local: LocalEffectLeases): Promise<number> {
  const leased = await listOwnEffectLeases(sql, replica);
  if (!leased.some((lease) => !local.isRunning(lease.id))) return 0;
  await local.settleClaims();
  return releaseOwnEffectLeases(
    sql,
    replica,
    leased.filter((lease) => !local.isRunning(lease.id)),
  );
}
