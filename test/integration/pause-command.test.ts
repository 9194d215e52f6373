import { beforeEach, describe, expect, test } from "vitest";
import { runPauseCommand } from "../../src/cli/pause.js";
import { CommandError } from "../../src/cli/command-error.js";
import { createPauseCheck } from "../../src/engine/pause.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

const database = useTestDatabase();
beforeEach(async () => {
  await resetTables(database);
});

function run(command: "pause" | "resume", args: string[], pausedByEnv = false) {
  const lines: string[] = [];
  const done = runPauseCommand(command, args, {
    sql: database.sql,
    out: (text) => lines.push(text),
    operator: "operator:alice",
    now: new Date("2026-11-21T01:00:00Z"),
    pausedByEnv,
  });
  return done.then((code) => ({ code, output: lines.join("\n") }));
}

describe("foreman pause / resume", () => {
  test("pause, status, resume: stored for every replica, each change on the record with who made it", async () => {
    expect(await run("pause", ["--status"])).toEqual({ code: 0, output: "Foreman is not paused." });
    expect((await run("pause", ["--reason", "incident 42"])).output).toContain("Foreman is paused");
    expect((await run("pause", ["--status"])).output).toMatch(
      /^Foreman is paused \(by operator:alice at .+: incident 42\)\.$/,
    );
    expect((await run("pause", [])).output).toBe("Foreman was already paused; nothing changed.");
    expect((await run("resume", [])).output).toBe("Foreman resumed: held tasks continue where they stopped.");
    expect((await run("resume", [])).output).toBe("Foreman was not paused; nothing changed.");
    const records = await database.sql`select kind, actor, payload from compliance_records order by seq`;
    expect(records.map((record) => ({ ...record }))).toEqual([
      { kind: "system.paused", actor: "operator:alice", payload: { reason: "incident 42" } },
      { kind: "system.resumed", actor: "operator:alice", payload: { reason: null } },
    ]);
  });

  test("the environment's pause is said, and cannot be lifted from the CLI", async () => {
    expect((await run("pause", ["--status"], true)).output).toContain(
      "paused by its environment (FOREMAN_PAUSED=true)",
    );
    await run("pause", []);
    expect((await run("resume", [], true)).output).toContain("FOREMAN_PAUSED=true is set in the environment");
  });

  test("bad options are named with the usage", async () => {
    await expect(run("pause", ["--reason"])).rejects.toThrow(CommandError);
    await expect(run("pause", ["--reason"])).rejects.toThrow("--reason needs a text");
    await expect(run("pause", ["--forever"])).rejects.toThrow("unknown option --forever");
  });

  test("the engine's check reads the stored pause at most once per interval, and the environment's always wins", async () => {
    let clock = 0;
    const check = createPauseCheck(database.sql, false, 1000, () => clock);
    expect(await check()).toBe(false);
    await run("pause", []);
    expect(await check()).toBe(false); // cached
    clock = 1000;
    expect(await check()).toBe(true);
    expect(await createPauseCheck(database.sql, true)()).toBe(true);
  });
});
