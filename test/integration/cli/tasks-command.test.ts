import pino from "pino";
import type { Logger } from "probot";
import { beforeEach, describe, expect, test } from "vitest";
import { CommandError } from "../../../src/cli/command-error.js";
import { runTasksCommand } from "../../../src/cli/tasks.js";
import { insertAgentJob } from "../../../src/db/queries/insert-agent-job.js";
import { insertTask } from "../../../src/db/queries/insert-task.js";
import type { EngineDeps } from "../../../src/engine/deps.js";
import { processNextEvent } from "../../../src/engine/process-next-event.js";
import type { TaskState } from "../../../src/workflow/states.js";
import type { Task } from "../../../src/workflow/task.js";
import { makeStep, makeTask } from "../../unit/workflow/fixtures.js";
import { resetTables, useTestDatabase } from "../../helpers/test-database.js";

const database = useTestDatabase();
beforeEach(async () => {
  await resetTables(database);
});

const ESCALATED = "e5ca1a7e-0000-4000-8000-000000000001";
const RUNNING = "7a11ed00-0000-4000-8000-000000000002";
const CANCELLED = "cafe0000-0000-4000-8000-000000000003";
const JOB = "0b000000-0000-4000-8000-000000000009";

function task(id: string, state: TaskState, overrides: Partial<Task> = {}): Task {
  return makeTask(state, { id, ...(state === "running" ? { jobId: JOB } : {}), ...overrides });
}

async function seed(): Promise<void> {
  await insertTask(database.sql, task(ESCALATED, "escalated", { updatedAt: "2026-11-20T11:00:03.000Z" }));
  await insertTask(
    database.sql,
    task(RUNNING, "running", {
      issueNumber: 6,
      issueTitle: "Add a health page",
      updatedAt: "2026-11-20T11:00:02.000Z",
      pipeline: {
        ...makeTask("running").pipeline,
        steps: [makeStep("coder", JOB, { status: "running", summary: null })],
      },
    }),
  );
  await insertTask(
    database.sql,
    task(CANCELLED, "cancelled", {
      repo: { installationId: 1, id: 11, owner: "acme", name: "web", defaultBranch: "main" },
      issueNumber: 7,
      updatedAt: "2026-11-20T11:00:01.000Z",
    }),
  );
  await insertAgentJob(database.sql, {
    id: JOB,
    taskId: RUNNING,
    role: "coder",
    profile: "claude-code",
    baseSha: "base-1",
  });
}

async function run(args: string[], publicUrl?: string) {
  const lines: string[] = [];
  const code = await runTasksCommand(args, {
    sql: database.sql,
    out: (text) => lines.push(text),
    osUser: "root",
    webBaseUrl: "https://github.com",
    now: () => new Date("2026-11-20T12:00:00.000Z"),
    ...(publicUrl ? { publicUrl } : {}),
  });
  return { code, output: lines.join("\n") };
}

function engineDeps(): EngineDeps {
  let n = 0;
  return {
    database,
    github: () => Promise.reject(new Error("no GitHub in this test")),
    log: pino({ level: "silent" }) as unknown as Logger,
    now: () => new Date("2026-11-20T12:00:01.000Z"),
    random: () => 0.5,
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, "0")}`,
    webBaseUrl: "https://github.com",
    replicaId: "test",
    maxEffectAttempts: 3,
    leaseMs: 60_000,
    retryBaseMs: 1000,
    publicUrl: null,
    defaultAgent: "claude-code",
  };
}

describe("foreman tasks list / show", () => {
  test("list: a table of every task, the most recently changed first; filters by repo and state", async () => {
    await seed();
    expect(await run(["list"])).toEqual({
      code: 0,
      output: [
        "ID        ISSUE       STATE      STEP   PR  UPDATED (UTC)        TITLE",
        "e5ca1a7e  acme/api#5  escalated  -      #9  2026-11-20 11:00:03  Fix the login redirect",
        "7a11ed00  acme/api#6  running    coder  #9  2026-11-20 11:00:02  Add a health page",
        "cafe0000  acme/web#7  cancelled  -      -   2026-11-20 11:00:01  Fix the login redirect",
      ].join("\n"),
    });
    expect((await run(["list", "--repo", "ACME/web"])).output.split("\n").slice(1)).toEqual([
      expect.stringMatching(/^cafe0000 {2}acme\/web#7/),
    ]);
    const active = (await run(["list", "--active"])).output.split("\n").slice(1);
    expect(active.map((line) => line.slice(0, 8))).toEqual(["e5ca1a7e", "7a11ed00"]);
    const some = (await run(["list", "--state", "running,cancelled", "--limit", "1"])).output.split("\n");
    expect(some.slice(1)).toEqual([
      expect.stringMatching(/^7a11ed00/),
      "(the 1 most recently changed; --limit shows more)",
    ]);
    expect(await run(["list", "--repo", "acme/nothing"])).toEqual({ code: 0, output: "No tasks match." });
  });

  test("bad filters name the problem and the fix", async () => {
    await expect(run(["list", "--state", "runing"])).rejects.toThrow(CommandError);
    await expect(run(["list", "--state", "runing"])).rejects.toThrow('unknown state "runing": use one of queued,');
    await expect(run(["list", "--repo", "acme"])).rejects.toThrow(
      "--repo must be owner/name, e.g. --repo acme/widgets",
    );
    await expect(run(["list", "--limit", "0"])).rejects.toThrow("--limit must be a whole number of tasks, 1 or more");
    await expect(run(["list", "--active", "--ended"])).rejects.toThrow("exclude each other");
    await expect(run(["list", "--colour"])).rejects.toThrow("Unknown option '--colour'");
    await expect(run(["frobnicate"])).rejects.toThrow('unknown tasks action "frobnicate"');
  });

  test("show: state, steps, jobs and links; a task is found by a unique prefix of its id", async () => {
    await seed();
    const { code, output } = await run(["show", "7a11"], "https://foreman.example.com/");
    expect(code).toBe(0);
    const [logToken] = await database.sql<{ log_token: string }[]>`select log_token from agent_jobs`;
    expect(output).toContain(`Task ${RUNNING}\n  issue     acme/api#6: Add a health page\n  state     running\n`);
    expect(output).toContain("\n\nSteps:\n  1. coder (pipeline) running\n\nAgent jobs:\n");
    expect(output).toContain(
      [
        "Agent jobs:",
        "  JOB       ROLE   PROFILE      STATUS  ATTEMPT  FAILURE  STARTED  FINISHED",
        "  0b000000  coder  claude-code  queued  1        -        -        -",
      ].join("\n"),
    );
    expect(output).toContain(
      [
        "",
        "Links:",
        "  issue     https://github.com/acme/api/issues/6",
        "  PR        https://github.com/acme/api/pull/9",
        `  evidence  https://foreman.example.com/api/compliance/tasks/${RUNNING}`,
        `  log       coder 0b000000: https://foreman.example.com/jobs/${JOB}/log?token=${logToken!.log_token}`,
      ].join("\n"),
    );
    const escalated = await run(["show", ESCALATED]);
    expect(escalated.output).toContain("  reason    CI_FAILED_TOO_OFTEN: CI still fails.");
    expect(escalated.output).toContain("  (set PUBLIC_URL for the evidence and job log links)");
  });

  test("an unknown, ambiguous or malformed id is named", async () => {
    await seed();
    await expect(run(["show", "ffff"])).rejects.toThrow("no task has an id starting with ffff: see foreman tasks list");
    await insertTask(database.sql, task("e5ca1a7e-1111-4000-8000-000000000004", "escalated", { issueNumber: 8 }));
    await expect(run(["show", "e5ca"])).rejects.toThrow("more than one task has an id starting with e5ca");
    await expect(run(["show", "50%"])).rejects.toThrow('"50%" is not a task id');
    await expect(run(["show"])).rejects.toThrow("give exactly one task id");
  });
});

describe("foreman tasks stop / retry: the events of /foreman stop and /foreman retry, from an operator", () => {
  test("retry on an escalated task: stored in the issue's lane, recorded with the operator, applied like a writer's retry", async () => {
    await seed();
    const result = await run(["retry", "e5ca1a7e", "--as", "alice"]);
    expect(result).toEqual({
      code: 0,
      output: `Asked Foreman to retry task ${ESCALATED} (acme/api#5, escalated) as operator:alice; a running \`foreman serve\` applies it within seconds and answers on the issue. \`foreman tasks show e5ca1a7e\` shows the result.`,
    });
    const stored = await database.sql`select source, lane, status, event_name, event from webhook_deliveries`;
    expect(stored.map((row) => ({ ...row }))).toEqual([
      {
        source: "operator",
        lane: "repo:10#5",
        status: "pending",
        event_name: "operator.actor_checked",
        event: {
          type: "actor_checked",
          taskId: ESCALATED,
          login: "operator:alice",
          role: { role: "admin", permission: "database" },
          action: { kind: "command", command: "retry", commentId: expect.any(Number) },
        },
      },
    ]);
    // Not a GitHub comment: a negative id.
    expect(stored[0]!.event.action.commentId).toBeLessThan(0);

    // The running Foreman applies it: the same transition a writer's `/foreman retry` causes.
    expect(await processNextEvent(engineDeps())).toBe(true);
    const [after] = await database.sql`select state, step from tasks where id = ${ESCALATED}`;
    expect(after).toMatchObject({ state: "awaiting_agent", step: "ci_fixer" });
    const effects = await database.sql`select kind, payload from effects where task_id = ${ESCALATED} order by id`;
    expect(effects.find((effect) => effect.kind === "answer_command")?.payload).toMatchObject({
      login: "operator:alice",
      text: "operator alice asked to retry: Foreman runs another ci_fixer step (up to 3 CI attempts).",
    });
    const records = await database.sql`select kind, actor, payload from compliance_records order by seq`;
    expect(records.map((record) => [record.kind, record.actor])).toEqual([
      ["operator.action", "operator:alice"],
      ["task.transition", "operator:alice"],
    ]);
    expect(records[0]!.payload).toMatchObject({
      action: "retry",
      via: "cli",
      event: "actor_checked",
      repoId: 10,
      issueNumber: 5,
    });
  });

  test("stop on a running task: cancelled, its job cancelled; the operator is the OS user without --as", async () => {
    await seed();
    expect((await run(["stop", RUNNING])).code).toBe(0);
    expect(await processNextEvent(engineDeps())).toBe(true);
    const [after] = await database.sql`select state, reason from tasks where id = ${RUNNING}`;
    expect(after).toMatchObject({
      state: "cancelled",
      reason: {
        code: "STOPPED_BY_COMMAND",
        message: "operator root stopped Foreman with `foreman tasks stop`. The branch and any PR are left for you.",
      },
    });
    expect(await database.sql`select cancel_requested from agent_jobs where id = ${JOB}`).toMatchObject([
      { cancel_requested: true },
    ]);
    const actors = await database.sql`select distinct actor from compliance_records`;
    expect(actors.map((row) => row.actor)).toEqual(["operator:root"]);
  });

  test("an ended task is told so and nothing is stored; a bad --as is named", async () => {
    await seed();
    expect(await run(["stop", CANCELLED])).toEqual({
      code: 1,
      output: `Task ${CANCELLED} (acme/web#7) has already ended (cancelled); there is nothing to stop.`,
    });
    expect((await run(["retry", CANCELLED])).output).toContain(
      "To start a new one, add the agent label again or comment `/foreman retry` on the issue: https://github.com/acme/web/issues/7",
    );
    await expect(run(["stop", RUNNING, "--as", "a b"])).rejects.toThrow("--as must be a name of letters");
    expect(await database.sql`select 1 from webhook_deliveries`).toHaveLength(0);
    expect(await database.sql`select 1 from compliance_records`).toHaveLength(0);
  });
});
