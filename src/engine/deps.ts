import type { ArtifactStore } from "../compliance/artifacts.js";
import type { Logger } from "probot";
import type { Database } from "../db/client.js";
import type { GitHubClient } from "../github/octokit.js";
import type { LocalEffectLeases } from "./local-effect-leases.js";

/** Everything the engine needs from the outside world, passed in so tests can control it. */
export interface EngineDeps {
  database: Database;
  /** An Octokit authenticated as the app's installation. */
  github: (installationId: number) => Promise<GitHubClient>;
  log: Logger;
  now: () => Date;
  random: () => number;
  newId: () => string;
  /** The GitHub web URL (https://github.com or the GHES host), for links in comments. */
  webBaseUrl: string;
  /** This process's name in leases and container labels. */
  replicaId: string;
  maxEffectAttempts: number;
  leaseMs: number;
  /** Base delay for durable retries. */
  retryBaseMs: number;
  /** Where people reach Foreman (PUBLIC_URL), for links to agent logs; null: no links. */
  publicUrl: string | null;
  /** The agent profile used when a repo's config names none. */
  defaultAgent: string;
  /** How long status-comment and check-run redraws wait, so a burst of changes is drawn once (0: at once). */
  displayDelayMs?: number;
  /** The app's own id: its check suites (the `foreman` check run's) are not CI. */
  appId?: number;
  /** Whether Foreman is paused (FOREMAN_PAUSED or `foreman pause`): only comments and reads run. */
  isPaused?: () => Promise<boolean>;
  /** Where evidence (CI summaries) is stored, content-addressed; with the values to redact first. */
  evidence?: { store: ArtifactStore; secrets: readonly string[] };
  /**
   * This replica's liveness (docs/adr/0005): `restarted` is its own name when it took its liveness
   * lock at start, so the leases under that name are a dead process's and recovery at start frees them.
   */
  liveness?: { readonly restarted: string | null; readonly held?: boolean };
  /**
   * The effects this process runs, in memory: with `liveness` held, the worker's lease sweep frees
   * at once any lease under `replicaId` that is not among them (`releaseOwnIdleLeases`).
   */
  localLeases?: LocalEffectLeases;
  /** Told when a transition cancels a job, so a runner in this process stops it at once. */
  onJobCancelled?: (jobId: string) => void;
}
