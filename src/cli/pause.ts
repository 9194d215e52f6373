import type { Sql } from "postgres";
import { userInfo } from "node:os";
import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { findPauseSetting } from "../db/queries/find-pause-setting.js";
import { savePauseSetting } from "../db/queries/save-pause-setting.js";
import { CommandError } from "./command-error.js";

export const PAUSE_USAGE = `Usage:
  foreman pause [--reason "text"]   hold every task: running agents are stopped, no container starts, no bot write but comments
  foreman resume                    lift the pause; held tasks continue where they stopped
  foreman pause --status            say whether Foreman is paused`;

/**
 * `foreman pause` / `foreman resume`: the global freeze, stored in the database so every replica
 * sees it within a second; each change is a compliance record naming who made it.
 */
export async function runPauseCommand(
  command: "pause" | "resume",
  args: string[],
  deps: { sql: SqlClient; out: (text: string) => void; operator?: string; now?: Date; pausedByEnv?: boolean },
): Promise<number> {
  if (args.includes("--help")) {
    deps.out(PAUSE_USAGE);
    return 0;
  }
  const current = await findPauseSetting(deps.sql);
  if (command === "pause" && args.includes("--status")) {
    deps.out(
      current?.paused
        ? `Foreman is paused (by ${current.by} at ${current.at}${current.reason ? `: ${current.reason}` : ""}).`
        : deps.pausedByEnv
          ? "No runtime pause is set."
          : "Foreman is not paused.",
    );
    if (deps.pausedByEnv)
      deps.out(
        "Foreman is paused by its environment (FOREMAN_PAUSED=true); `foreman resume` cannot lift that: unset it and restart.",
      );
    return 0;
  }
  const reasonAt = args.indexOf("--reason");
  if (reasonAt >= 0 && (args[reasonAt + 1] === undefined || args[reasonAt + 1]!.startsWith("--"))) {
    throw new CommandError('--reason needs a text, e.g. foreman pause --reason "incident 42"');
  }
  const unknown = args.filter(
    (arg, index) =>
      arg.startsWith("--") && arg !== "--reason" && arg !== "--status" && !(reasonAt >= 0 && index === reasonAt + 1),
  );
  if (unknown.length > 0) throw new CommandError(`unknown option ${unknown[0]}\n\n${PAUSE_USAGE}`);
  const reason = reasonAt >= 0 ? args[reasonAt + 1]! : null;
  const operator = deps.operator ?? `operator:${safeUser()}`;
  const paused = command === "pause";
  if ((current?.paused ?? false) === paused) {
    deps.out(paused ? "Foreman was already paused; nothing changed." : "Foreman was not paused; nothing changed.");
    if (!paused && deps.pausedByEnv)
      deps.out("Note: FOREMAN_PAUSED=true is set in the environment, so Foreman stays paused until it is unset.");
    return 0;
  }
  await (deps.sql as Sql).begin(async (tx) => {
    await savePauseSetting(tx, paused, reason, operator);
    await appendComplianceRecords(tx, [
      {
        taskId: null,
        kind: paused ? "system.paused" : "system.resumed",
        actor: operator,
        payload: { reason },
        createdAt: deps.now ?? new Date(),
      },
    ]);
  });
  deps.out(
    paused
      ? "Foreman is paused: running agents stop within seconds and no task moves until `foreman resume`."
      : "Foreman resumed: held tasks continue where they stopped.",
  );
  if (!paused && deps.pausedByEnv)
    deps.out("Note: FOREMAN_PAUSED=true is set in the environment, so Foreman stays paused until it is unset.");
  return 0;
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}
