import type { SqlClient } from "../db/client.js";
import { findPauseSetting } from "../db/queries/find-pause-setting.js";

/**
 * Whether Foreman is paused: by the environment (FOREMAN_PAUSED=true) or by an operator at runtime
 * (`foreman pause`). The stored setting is read at most once per `ttlMs`, so the hot path costs no query.
 */
export function createPauseCheck(
  sql: SqlClient,
  pausedByEnv: boolean,
  ttlMs = 1000,
  clock: () => number = Date.now,
): () => Promise<boolean> {
  let cached: { paused: boolean; at: number } | null = null;
  return async () => {
    if (pausedByEnv) return true;
    if (cached && clock() - cached.at < ttlMs) return cached.paused;
    const setting = await findPauseSetting(sql);
    cached = { paused: setting?.paused ?? false, at: clock() };
    return cached.paused;
  };
}
