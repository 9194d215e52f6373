import type { Sql } from "postgres";
import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords, type NewComplianceRecord } from "../db/queries/append-compliance-record.js";
import { findSystemSettings } from "../db/queries/find-system-settings.js";
import { savePauseSetting } from "../db/queries/save-pause-setting.js";
import { saveSystemSetting } from "../db/queries/save-system-setting.js";

/** How many agent containers may run at once, in all and per repository. */
export interface JobLimits {
  maxConcurrent: number;
  maxPerRepo: number;
}

/** The `system_settings` keys of the job limits an operator may set at runtime. */
export const LIMIT_KEYS = Object.freeze({ maxConcurrent: "max_concurrent_jobs", maxPerRepo: "max_jobs_per_repo" });

/** The settings as the API shows them: the pause, and each limit with where its value comes from. */
export interface RuntimeSettings {
  paused: boolean;
  pausedByEnvironment: boolean;
  pause: { reason: string | null; by: string; at: string } | null;
  maxConcurrentJobs: RuntimeLimit;
  maxJobsPerRepo: RuntimeLimit;
}

/** One limit: its value now, the environment's, and who set the runtime value (null: the environment's applies). */
export interface RuntimeLimit {
  value: number;
  environment: number;
  setBy: string | null;
  setAt: string | null;
}

/** A change an operator asks for: any of these (a limit `null` goes back to the environment's value). */
export interface SettingsChange {
  paused?: boolean;
  reason?: string | null;
  maxConcurrentJobs?: number | null;
  maxJobsPerRepo?: number | null;
}

function readLimit(stored: { value: unknown; by: string; at: string } | undefined, environment: number): RuntimeLimit {
  const value = (stored?.value as { value?: unknown } | undefined)?.value;
  if (typeof value === "number" && Number.isInteger(value) && value > 0)
    return { value, environment, setBy: stored!.by, setAt: stored!.at };
  return { value: environment, environment, setBy: null, setAt: null };
}

/** Read the runtime settings, over the environment's values. */
export async function readRuntimeSettings(
  sql: SqlClient,
  environment: JobLimits & { paused: boolean },
): Promise<RuntimeSettings> {
  const stored = await findSystemSettings(sql);
  const pause = stored.get("paused");
  const pauseValue = pause?.value as { paused?: boolean; reason?: string | null } | undefined;
  const pausedAtRuntime = pauseValue?.paused === true;
  return {
    paused: pausedAtRuntime || environment.paused,
    pausedByEnvironment: environment.paused,
    pause: pausedAtRuntime ? { reason: pauseValue?.reason ?? null, by: pause!.by, at: pause!.at } : null,
    maxConcurrentJobs: readLimit(stored.get(LIMIT_KEYS.maxConcurrent), environment.maxConcurrent),
    maxJobsPerRepo: readLimit(stored.get(LIMIT_KEYS.maxPerRepo), environment.maxPerRepo),
  };
}

/**
 * Apply an operator's change to the runtime settings in one transaction, one compliance record per
 * setting that changed, naming who changed it (`system.paused` / `system.resumed` as `foreman pause`
 * writes them, `system.setting_changed` for a limit). Returns the kinds recorded.
 */
export async function changeRuntimeSettings(
  sql: SqlClient,
  change: SettingsChange,
  actor: string,
  environment: JobLimits & { paused: boolean },
  now: Date,
): Promise<string[]> {
  return (sql as Sql).begin(async (tx) => {
    // One change at a time, so two operators' changes are recorded in the order they happened.
    await tx`select pg_advisory_xact_lock(hashtext('foreman:system_settings'))`;
    const before = await readRuntimeSettings(tx, environment);
    const records: NewComplianceRecord[] = [];
    const pausedAtRuntime = before.pause !== null;
    if (change.paused !== undefined && change.paused !== pausedAtRuntime) {
      const reason = change.reason ?? null;
      await savePauseSetting(tx, change.paused, reason, actor);
      records.push({
        taskId: null,
        kind: change.paused ? "system.paused" : "system.resumed",
        actor,
        payload: { reason },
        createdAt: now,
      });
    }
    const limits = [
      ["maxConcurrentJobs", LIMIT_KEYS.maxConcurrent],
      ["maxJobsPerRepo", LIMIT_KEYS.maxPerRepo],
    ] as const;
    for (const [field, key] of limits) {
      const wanted = change[field];
      if (wanted === undefined) continue;
      const current = before[field];
      const from = current.setBy === null ? null : current.value;
      if (wanted === from) continue;
      await saveSystemSetting(tx, key, wanted === null ? null : { value: wanted }, actor);
      records.push({
        taskId: null,
        kind: "system.setting_changed",
        actor,
        payload: { setting: key, from, to: wanted, environment: current.environment },
        createdAt: now,
      });
    }
    await appendComplianceRecords(tx, records);
    return records.map((record) => record.kind);
  });
}

/** The job limits as the runner's claim reads them: the runtime values over the environment's, read at most once per `ttlMs`. */
export function createJobLimitsReader(
  sql: SqlClient,
  environment: JobLimits,
  ttlMs = 1000,
  clock: () => number = Date.now,
): () => Promise<JobLimits> {
  let cached: { limits: JobLimits; at: number } | null = null;
  return async () => {
    if (cached && clock() - cached.at < ttlMs) return cached.limits;
    const settings = await readRuntimeSettings(sql, { ...environment, paused: false });
    cached = {
      limits: { maxConcurrent: settings.maxConcurrentJobs.value, maxPerRepo: settings.maxJobsPerRepo.value },
      at: clock(),
    };
    return cached.limits;
  };
}
