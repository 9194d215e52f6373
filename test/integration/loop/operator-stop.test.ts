import { describe, expect, test } from "vitest";
import { runTasksCommand } from "../../../src/cli/tasks.js";
import {
  actionWrites,
  buildLoopConfig,
  DRAFT_PR_WRITES,
  labelIssue,
  lastStatusComment,
  listRunningContainers,
  mockLoopGitHub,
  PUSH_WRITES,
  useLoopForeman,
  waitForRunningStep,
  writeBodies,
} from "../../helpers/loop-harness.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// `foreman tasks stop` against the real loop: the same stop as a writer's `/foreman stop`
// (commands.test.ts), without a GitHub permission read, the operator named without a mention.

const loop = useLoopForeman({ idPrefix: "0e000000" });
const TASK = loop.id(1);

describe("foreman tasks stop on a running task", () => {
  test("the container is gone, the task cancelled, and the status comment names the operator", async () => {
    const github = mockLoopGitHub(buildLoopConfig({ pipeline: ["coder", "reviewer"], reviewer: "sleep 60" })).draftPr();
    await github.stepReads("plan-sha");
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha");
    github.diff("code-sha");

    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");

    const lines: string[] = [];
    const code = await runTasksCommand(["stop", TASK.slice(0, 13), "--as", "alice"], {
      sql: loop.database.sql,
      out: (text) => lines.push(text),
      osUser: "root",
      webBaseUrl: "https://github.com",
    });
    expect(code).toBe(0);
    await expect
      .poll(async () => (await listRunningContainers(loop.foreman, TASK)).length, { timeout: 10_000, interval: 100 })
      .toBe(0);
    await loop.foreman.settle();

    expect(await loop.database.sql`select state, reason from tasks`).toMatchObject([
      { state: "cancelled", reason: { code: "STOPPED_BY_COMMAND" } },
    ]);
    expect(
      (await loop.database.sql`select role, status, failure_code from agent_jobs order by created_at`).map(
        (job) => `${job.role}:${job.status}:${job.failure_code ?? ""}`,
      ),
    ).toEqual(["coder:succeeded:", "reviewer:cancelled:AGENT_STOPPED"]);
    expect(lastStatusComment(github)).toContain(
      "> **Why:** operator alice stopped Foreman with `foreman tasks stop`. The branch and any PR are left for you.",
    );
    // No answer comment besides the status comment, no permission read (strict mocks), and no write but the loop's own.
    expect(
      writeBodies<{ body: string }>(github, "POST", "/issues/1/comments").filter(
        (body) => !body.body.startsWith("<!-- foreman:status -->"),
      ),
    ).toEqual([]);
    expect(actionWrites(github)).toEqual([...DRAFT_PR_WRITES, ...PUSH_WRITES]);
    const records = await loop.database
      .sql`select kind, actor from compliance_records where actor like 'operator:%' order by seq`;
    expect(records.map((record) => `${record.kind} ${record.actor}`)).toEqual([
      "operator.action operator:alice",
      "task.transition operator:alice",
    ]);
  }, 60_000);
});
