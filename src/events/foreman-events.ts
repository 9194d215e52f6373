/**
 * Foreman's in-process events: what the engine, the GitHub client, the container runner and the
 * circuit breakers report as they work, for listeners such as src/metrics/. A leaf: emitting
 * costs a loop over the listeners, and with none it does nothing. Listeners must not throw; one
 * that does is ignored, so observing never breaks the work observed.
 */

/** Everything that can be emitted, one variant per `type`. */
export type ForemanEvent =
  | {
      type: "github.request";
      /** Octokit's route template (`/repos/{owner}/{repo}/pulls`), not the filled-in path. */
      method: string;
      route: string;
      /** The HTTP status, or 0 when no answer came (network error, timeout, circuit open). */
      status: number;
      installationId: string | null;
      /** GitHub's `x-ratelimit-remaining` on the answer, when sent. */
      rateLimitRemaining: number | null;
    }
  | { type: "circuit.changed"; service: string; key: string; state: "closed" | "open" | "half_open" }
  | { type: "effect.failed"; kind: string; code: string; final: boolean }
  | {
      type: "agent_job.finished";
      repository: string;
      role: string;
      profile: string;
      status: string;
      durationSeconds: number;
    }
  | {
      type: "container.finished";
      profile: string;
      /** Highest memory use seen while the container ran, in bytes (null: the engine reported none). */
      peakMemoryBytes: number | null;
      /** CPU time the container used, in seconds (null: the engine reported none). */
      cpuSeconds: number | null;
    }
  | { type: "checkpoint.round"; ok: boolean }
  /** The reconciliation sweep repaired `count` missed events of one kind (delivery, label, ci, pull_request). */
  | { type: "reconcile.repaired"; kind: "delivery" | "label" | "ci" | "pull_request"; count: number }
  /** The retention pruning removed `count` rows of one kind. */
  | { type: "retention.pruned"; kind: RetentionPrunedKind; count: number };

/** What the retention pruning removes, one kind per table (or column; `job_logs` counts stored logs cleared). */
export type RetentionPrunedKind =
  "inbox" | "effects" | "job_log_lines" | "job_logs" | "outbound_hooks" | "ci_results" | "api_idempotency_keys";

/** Something that hears every event. */
export type ForemanEventListener = (event: ForemanEvent) => void;

const listeners = new Set<ForemanEventListener>();

/** Tell every listener; a listener that throws is skipped. */
export function emitForemanEvent(event: ForemanEvent): void {
  for (const listener of listeners) {
    try {
      listener(event);
    } catch {
      // Observing must never break the work observed.
    }
  }
}

/** Listen to every event until the returned function is called. */
export function subscribeForemanEvents(listener: ForemanEventListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
