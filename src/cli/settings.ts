import type { SqlClient } from "../db/client.js";
import { listSystemSettings } from "../db/queries/list-system-settings.js";
import { CommandError } from "./command-error.js";

/** The usage of `foreman settings`. */
export const SETTINGS_USAGE = `Usage:
  foreman settings          show the global pause, the job limits and every runtime setting
To change them: foreman pause [--reason "…"] / foreman resume for the pause; the limits are the
environment's MAX_CONCURRENT_JOBS and MAX_JOBS_PER_REPO (set them and restart).`;

/** The settings the environment fixes, as the running replicas read them at start. */
export interface EnvironmentSettings {
  FOREMAN_PAUSED: boolean;
  AGENTS_ENABLED: boolean;
  MAX_CONCURRENT_JOBS: number;
  MAX_JOBS_PER_REPO: number;
  WORKER_CONCURRENCY: number;
}

/** `foreman settings`: what holds or limits Foreman now, from the database and this environment, and how to change each. */
export async function runSettingsCommand(
  args: readonly string[],
  deps: { sql: SqlClient; out: (text: string) => void; env: EnvironmentSettings },
): Promise<number> {
  if (args.includes("--help") || args[0] === "help") {
    deps.out(SETTINGS_USAGE);
    return 0;
  }
  if (args.length > 0)
    throw new CommandError(
      `foreman settings takes no arguments (got "${args.join(" ")}"); to pause use foreman pause, to resume foreman resume\n\n${SETTINGS_USAGE}`,
    );
  const stored = await listSystemSettings(deps.sql);
  const pause = stored.find((setting) => setting.key === "paused");
  const paused = pause?.value as { paused?: boolean; reason?: string | null } | undefined;
  const lines = ["Pause:"];
  lines.push(
    paused?.paused === true
      ? `  runtime        paused by ${pause!.by} at ${pause!.at}${paused.reason ? `: ${paused.reason}` : ""} (foreman resume lifts it)`
      : `  runtime        not paused${pause ? ` (last changed by ${pause.by} at ${pause.at})` : ""} (foreman pause sets it)`,
  );
  lines.push(
    `  environment    FOREMAN_PAUSED=${deps.env.FOREMAN_PAUSED}${deps.env.FOREMAN_PAUSED ? " (holds this environment's replicas until unset and restarted)" : ""}`,
  );
  lines.push(
    "",
    "Limits (this environment; set them and restart to change):",
    `  AGENTS_ENABLED       ${deps.env.AGENTS_ENABLED}`,
    `  MAX_CONCURRENT_JOBS  ${deps.env.MAX_CONCURRENT_JOBS}   agent jobs at once across the replicas that share the database`,
    `  MAX_JOBS_PER_REPO    ${deps.env.MAX_JOBS_PER_REPO}   agent jobs at once per repository`,
    `  WORKER_CONCURRENCY   ${deps.env.WORKER_CONCURRENCY}   effects run at once per replica`,
  );
  const others = stored.filter((setting) => setting.key !== "paused");
  if (others.length > 0) {
    lines.push("", "Other runtime settings (system_settings):");
    for (const setting of others)
      lines.push(`  ${setting.key} = ${JSON.stringify(setting.value)} (by ${setting.by} at ${setting.at})`);
  }
  deps.out(lines.join("\n"));
  return 0;
}
