import { beforeEach, expect, test } from "vitest";
import { CommandError } from "../../../src/cli/command-error.js";
import { runPauseCommand } from "../../../src/cli/pause.js";
import { runSettingsCommand, type EnvironmentSettings } from "../../../src/cli/settings.js";
import { resetTables, useTestDatabase } from "../../helpers/test-database.js";

const database = useTestDatabase();
beforeEach(async () => {
  await resetTables(database);
});

const ENV: EnvironmentSettings = {
  FOREMAN_PAUSED: false,
  AGENTS_ENABLED: true,
  MAX_CONCURRENT_JOBS: 4,
  MAX_JOBS_PER_REPO: 2,
  WORKER_CONCURRENCY: 8,
};

async function run(args: string[] = [], env: EnvironmentSettings = ENV): Promise<string> {
  const lines: string[] = [];
  expect(await runSettingsCommand(args, { sql: database.sql, out: (text) => lines.push(text), env })).toBe(0);
  return lines.join("\n");
}

test("settings shows the pause, the limits, and how to change each", async () => {
  expect(await run()).toBe(
    [
      "Pause:",
      "  runtime        not paused (foreman pause sets it)",
      "  environment    FOREMAN_PAUSED=false",
      "",
      "Limits (this environment; set them and restart to change):",
      "  AGENTS_ENABLED       true",
      "  MAX_CONCURRENT_JOBS  4   agent jobs at once across the replicas that share the database",
      "  MAX_JOBS_PER_REPO    2   agent jobs at once per repository",
      "  WORKER_CONCURRENCY   8   effects run at once per replica",
    ].join("\n"),
  );
});

test("a runtime pause is shown with who set it and why; the environment's pause is said too; other stored settings are listed", async () => {
  await runPauseCommand("pause", ["--reason", "incident 42"], {
    sql: database.sql,
    out: () => {},
    operator: "operator:alice",
  });
  await database.sql`insert into system_settings (key, value, updated_by) values ('limits', '{"maxConcurrentJobs": 2}', 'api:bob')`;
  const output = await run([], { ...ENV, FOREMAN_PAUSED: true });
  expect(output).toMatch(/^ {2}runtime {8}paused by operator:alice at \S+: incident 42 \(foreman resume lifts it\)$/m);
  expect(output).toContain(
    "  environment    FOREMAN_PAUSED=true (holds this environment's replicas until unset and restarted)",
  );
  expect(output).toMatch(
    /\nOther runtime settings \(system_settings\):\n {2}limits = \{"maxConcurrentJobs":2\} \(by api:bob at \S+\)$/,
  );
});

test("arguments are refused with what to use instead", async () => {
  await expect(run(["pause"])).rejects.toThrow(CommandError);
  await expect(run(["pause"])).rejects.toThrow(
    'foreman settings takes no arguments (got "pause"); to pause use foreman pause',
  );
  expect(await run(["--help"])).toContain("Usage:\n  foreman settings");
});
