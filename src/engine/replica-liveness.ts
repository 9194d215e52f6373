import type { Logger } from "probot";
import type postgres from "postgres";
import { openSessionClient } from "../db/client.js";
import { holdsReplicaLock } from "../db/queries/holds-replica-lock.js";
import { releaseReplicaLock } from "../db/queries/release-replica-lock.js";
import { takeReplicaLock } from "../db/queries/take-replica-lock.js";

/**
 * This replica's announcement that it is alive: a session-level advisory lock on its name, held on
 * a connection of its own for as long as the process runs (docs/adr/0005). PostgreSQL releases it
 * the moment the process dies, and every replica's lease recovery then treats the leases under that
 * name as free (`buildReplicaDeadSql`). Checked every `checkMs`: a lost connection is reopened and
 * the lock taken again.
 */
export class ReplicaLiveness {
  #sql: postgres.Sql | null = null;
  #held = false;
  #restarted = false;
  #timer: NodeJS.Timeout | null = null;
  #checking = false;

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly log: Pick<Logger, "warn" | "info">,
    private readonly checkMs: number,
  ) {}

  /**
   * This replica's name when it took its lock at start: no other live process has that name, so
   * leases under it are a previous, dead process's. Null when another process holds the name.
   */
  get restarted(): string | null {
    return this.#restarted ? this.name : null;
  }

  /** Whether this process holds its liveness lock now. */
  get held(): boolean {
    return this.#held;
  }

  /** Open the session and take the lock (a name another live process holds is reported, not fatal). */
  async start(): Promise<void> {
    if (this.#sql) return;
    this.#sql = openSessionClient(this.url);
    this.#held = await takeReplicaLock(this.#sql, this.name);
    this.#restarted = this.#held;
    if (!this.#held)
      this.log.warn(
        { replica: this.name },
        "another live process runs under this replica name; give each replica its own REPLICA_ID",
      );
    this.#timer = setInterval(() => void this.check(), Math.max(50, this.checkMs));
    this.#timer.unref();
  }

  /** Release the lock and close its session (a clean stop: nothing is left to reclaim). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const sql = this.#sql;
    this.#sql = null;
    if (!sql) return;
    if (this.#held) await releaseReplicaLock(sql, this.name).catch(() => undefined);
    this.#held = false;
    await sql.end({ timeout: 5 });
  }

  /** Make sure the lock is still held on a live session, and take it again if not (runs every `checkMs`). */
  async check(): Promise<void> {
    const sql = this.#sql;
    if (!sql || this.#checking) return;
    this.#checking = true;
    try {
      // The session may be a new one (postgres.js reconnects after a drop): it must hold the lock itself.
      if (this.#held && (await holdsReplicaLock(sql, this.name))) return;
      const wasHeld = this.#held;
      this.#held = await takeReplicaLock(sql, this.name);
      if (wasHeld) this.log.warn({ replica: this.name, held: this.#held }, "replica liveness lock was lost");
      else if (this.#held) this.log.info({ replica: this.name }, "replica liveness lock taken");
    } catch (error) {
      this.#held = false;
      this.log.warn({ err: error, replica: this.name }, "replica liveness check failed");
    } finally {
      this.#checking = false;
    }
  }
}
