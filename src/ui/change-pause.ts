import type { Sql } from "postgres";
import type { SqlClient } from "../db/client.js";
import { appendComplianceRecords } from "../db/queries/append-compliance-record.js";
import { findPauseSetting } from "../db/queries/find-pause-setting.js";
import { savePauseSetting } from "../db/queries/save-pause-setting.js";

/**
 * Pause or resume Foreman from the dashboard: the same stored setting as `foreman pause`, and in the
 * same transaction a `system.paused` / `system.resumed` record naming the person (`github:<login>`).
 * Returns false when it was already so (nothing written).
 */
export async function changePause(
  sql: SqlClient,
  change: { paused: boolean; login: string; reason: string | null; now: Date },
): Promise<boolean> {
  const current = await findPauseSetting(sql);
  if ((current?.paused ?? false) === change.paused) return false;
  const actor = `github:${change.login}`;
  await (sql as Sql).begin(async (tx) => {
    await savePauseSetting(tx, change.paused, change.reason, actor);
    await appendComplianceRecords(tx, [
      {
        taskId: null,
        kind: change.paused ? "system.paused" : "system.resumed",
        actor,
        payload: { reason: change.reason, via: "dashboard" },
        createdAt: change.now,
      },
    ]);
  });
  return true;
}
