import { beforeEach, describe, expect, test } from "vitest";
import { appendComplianceRecords } from "../../src/db/queries/append-compliance-record.js";
import { loadEffectFacts } from "../../src/engine/effects/load-effect-facts.js";
import type { Task } from "../../src/workflow/task.js";
import { makePipelineTask } from "../unit/github/pipeline-fixtures.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// What the effect runner reads for an executor before it runs (executors read no database): the
// task's own jobs oldest first with their log links, its latest record's hash, the queue position.

const database = useTestDatabase();
const OTHER = "9d1e3f5a-7b2c-4d6e-8f0a-1b3c5d7e9f20";

beforeEach(async () => {
  await resetTables(database);
});

async function insertTask(id: string, state: string, issue: number): Promise<void> {
  await database.sql`
    insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title, type,
                       trigger_label, triggered_by, state, priority, created_at, updated_at)
    values (${id}, 1, 10, 'acme', 'api', 'main', ${issue}, 'A task', 'bugfix', 'agent:bugfix', 'alice', ${state}, 0, now(), now())`;
}

async function insertJob(id: string, taskId: string, role: string, status: string, token: string, ageSeconds: number) {
  await database.sql`
    insert into agent_jobs (id, task_id, role, profile, status, base_sha, log_token, created_at, available_at)
    values (${id}, ${taskId}, ${role}, 'script', ${status}, 'base', ${token}, now() - make_interval(secs => ${ageSeconds}), now())`;
}

describe("loadEffectFacts", () => {
  test("the task's own jobs oldest first, with log links only under a public URL; its latest record's hash", async () => {
    const task: Task = makePipelineTask("running");
    await insertTask(task.id, "running", 5);
    await insertTask(OTHER, "running", 6);
    await insertJob("00000000-0000-4000-8000-0000000000a2", task.id, "coder", "succeeded", "tok-coder", 20);
    await insertJob("00000000-0000-4000-8000-0000000000a1", task.id, "planner", "succeeded", "tok-planner", 30);
    await insertJob("00000000-0000-4000-8000-0000000000b1", OTHER, "coder", "running", "tok-other", 25);
    const [, latest] = await appendComplianceRecords(database.sql, [
      { taskId: task.id, kind: "task.transition", actor: "x", payload: {}, createdAt: new Date() },
      { taskId: task.id, kind: "effect.post_review", actor: "x", payload: {}, createdAt: new Date() },
    ]);
    await appendComplianceRecords(database.sql, [
      { taskId: OTHER, kind: "task.transition", actor: "x", payload: {}, createdAt: new Date() },
    ]);

    const facts = await loadEffectFacts(
      database.sql,
      task,
      ["jobs", "latestRecordHash"],
      "https://foreman.example.com",
    );
    expect(facts).toEqual({
      jobs: [
        {
          id: "00000000-0000-4000-8000-0000000000a1",
          role: "planner",
          status: "succeeded",
          logUrl: "https://foreman.example.com/jobs/00000000-0000-4000-8000-0000000000a1/log?token=tok-planner",
        },
        {
          id: "00000000-0000-4000-8000-0000000000a2",
          role: "coder",
          status: "succeeded",
          logUrl: "https://foreman.example.com/jobs/00000000-0000-4000-8000-0000000000a2/log?token=tok-coder",
        },
      ],
      queuePosition: null,
      latestRecordHash: latest!.hash,
    });
    expect((await loadEffectFacts(database.sql, task, ["jobs"], null)).jobs.map((job) => job.logUrl)).toEqual([
      null,
      null,
    ]);
  });

  test("facts nobody asked for stay empty; the queue position only for a task waiting for a slot", async () => {
    const waiting = makePipelineTask("awaiting_agent", { jobId: "00000000-0000-4000-8000-0000000000c1" });
    await insertTask(waiting.id, "awaiting_agent", 5);
    await insertJob("00000000-0000-4000-8000-0000000000c1", waiting.id, "coder", "queued", "tok-q", 5);
    expect(await loadEffectFacts(database.sql, waiting, [], "https://foreman.example.com")).toEqual({
      jobs: [],
      queuePosition: null,
      latestRecordHash: null,
    });
    expect((await loadEffectFacts(database.sql, waiting, ["queuePosition"], null)).queuePosition).toBe(1);
    const running = { ...waiting, state: "running" as const };
    expect((await loadEffectFacts(database.sql, running, ["queuePosition"], null)).queuePosition).toBeNull();
  });
});
