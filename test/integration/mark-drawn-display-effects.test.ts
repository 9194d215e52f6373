import { beforeEach, describe, expect, test } from "vitest";
import { insertEffects } from "../../src/db/queries/insert-effects.js";
import { markDrawnDisplayEffects } from "../../src/db/queries/mark-drawn-display-effects.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// When the ready effect drew the status comment and the check run in its one request (ADR 0017),
// the redraws its own transition queued are done; a later transition's redraws still run.

const database = useTestDatabase();
const TASK = "0b7c2a8e-5f7d-4c1e-9a3b-2d6f8e1c4a50";
const OTHER = "9d1e3f5a-7b2c-4d6e-8f0a-1b3c5d7e9f20";

beforeEach(async () => {
  await resetTables(database);
  for (const [id, issue] of [
    [TASK, 5],
    [OTHER, 6],
  ] as const) {
    await database.sql`
      insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title, type,
                         trigger_label, triggered_by, state, priority, created_at, updated_at)
      values (${id}, 1, 10, 'acme', 'api', 'main', ${issue}, 'A task', 'bugfix', 'agent:bugfix', 'alice', 'ready_for_review', 0, now(), now())`;
  }
});

async function effects(): Promise<Array<{ task: string; kind: string; status: string }>> {
  return (await database.sql`select task_id as task, kind, status from effects order by id`) as unknown as Array<{
    task: string;
    kind: string;
    status: string;
  }>;
}

describe("markDrawnDisplayEffects", () => {
  test("marks done the drawn kinds queued by the ready effect's own transition and before it, not a later one's", async () => {
    // An earlier transition's redraw (still waiting out the display delay), then goReady's effects in one transaction.
    await insertEffects(database.sql, TASK, [{ kind: "upsert_status_comment" }]);
    await database.sql.begin(async (tx) => {
      await insertEffects(tx, TASK, [
        { kind: "mark_ready_for_review", prNumber: 9 },
        { kind: "request_reviewers", prNumber: 9, users: ["bob"], teams: [] },
        { kind: "upsert_status_comment" },
        { kind: "upsert_check_run" },
      ]);
      await insertEffects(tx, OTHER, [{ kind: "upsert_status_comment" }]);
    });
    // A later transition (a newer state) queues its own redraws.
    await insertEffects(database.sql, TASK, [{ kind: "upsert_status_comment" }, { kind: "upsert_check_run" }]);
    const [ready] = await database.sql<{ id: number }[]>`select id from effects where kind = 'mark_ready_for_review'`;

    expect(await markDrawnDisplayEffects(database.sql, Number(ready!.id), ["upsert_status_comment"])).toBe(2);
    expect(await markDrawnDisplayEffects(database.sql, Number(ready!.id), ["upsert_check_run"])).toBe(1);
    expect(await markDrawnDisplayEffects(database.sql, Number(ready!.id), [])).toBe(0);

    expect(await effects()).toEqual([
      { task: TASK, kind: "upsert_status_comment", status: "done" },
      { task: TASK, kind: "mark_ready_for_review", status: "pending" },
      { task: TASK, kind: "request_reviewers", status: "pending" },
      { task: TASK, kind: "upsert_status_comment", status: "done" },
      { task: TASK, kind: "upsert_check_run", status: "done" },
      { task: OTHER, kind: "upsert_status_comment", status: "pending" },
      { task: TASK, kind: "upsert_status_comment", status: "pending" },
      { task: TASK, kind: "upsert_check_run", status: "pending" },
    ]);
  });
});
