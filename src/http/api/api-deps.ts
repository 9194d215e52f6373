import type { Logger } from "pino";
import type { SqlClient } from "../../db/client.js";
import type { EngineDeps } from "../../engine/deps.js";
import type { JobLimits } from "../../engine/runtime-settings.js";

/** What the `/api` routes need. */
export interface ApiRouteDeps {
  sql: SqlClient;
  engine: EngineDeps;
  /** The environment's job limits and pause, under the runtime settings. */
  environment: JobLimits & { paused: boolean };
  rateLimitPerMinute: number;
  log: Pick<Logger, "error">;
  /** How often `?follow=1` looks for a job's log (default 500 ms). */
  followPollMs?: number;
  clock?: () => number;
}

/** The caller, authenticated. */
export interface ApiCaller {
  id: string;
  name: string;
  role: string;
}
