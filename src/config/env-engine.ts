/**
 * The environment's engine part: which repositories Foreman acts on, its worker loops, the
 * reconciliation sweep, the global pause, display coalescing and the replica's name. Composed
 * into `Env` by env.ts.
 */
import { z } from "zod";
import { commaList, optionalText, positiveInt } from "./env-fields.js";

const repoList = commaList(
  /^[\w.-]+\/[\w.-]+$/,
  "must be a comma-separated list of owner/name, e.g. acme/api,acme/web",
);

/** The engine: what it acts on, how fast its loops turn, and what holds it. */
export const EngineEnv = z.object({
  PRODUCTION_MODE: z.stringbool({ error: "must be true or false" }).default(false),
  ALLOWED_REPOS: repoList,
  WORKER_CONCURRENCY: positiveInt(8),
  EFFECT_MAX_ATTEMPTS: positiveInt(6),
  POLL_INTERVAL_MS: positiveInt(1000),
  /** The reconciliation sweep (missed webhooks: failed deliveries, labels, CI, PR ends) runs at start and this often. */
  RECONCILE_INTERVAL_MINUTES: positiveInt(10),
  /** Hold every task as a freeze would (no container starts, no bot write but comments); `foreman pause` does the same at runtime. */
  FOREMAN_PAUSED: z.stringbool({ error: "must be true or false" }).default(false),
  /** Redraws of the status comment and check run wait this long, so a burst of changes costs one GitHub write. */
  DISPLAY_DELAY_MS: z.coerce.number().int().min(0, { error: "must be 0 or more milliseconds" }).default(1000),
  REPLICA_ID: optionalText,
});

/** The parsed engine settings. */
export type EngineEnv = z.infer<typeof EngineEnv>;
