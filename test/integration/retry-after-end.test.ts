import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mockGitHub, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssueCommentPayload } from "../helpers/more-payloads.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// `/foreman retry` on an issue whose task ended: the ended task confirms the commenter's write access
// before any task row exists, and one ended task gets at most one successor however often it is asked.

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database);
});
afterEach(async () => {
  await foreman.stop();
});

async function taskRows() {
  return database.sql`select id, state, trigger_verdict, triggered_by, reason->>'code' as code from tasks order by created_at`;
}

/** A task that ended: the label came, the repo's config was invalid, the task failed and said so. */
async function endTaskWithInvalidConfig() {
  const github = mockGitHub().token().permission("Codertocat", "admin").config("prLabel: [x]\n").createComment(1);
  await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
  await foreman.settle();
  expect(await taskRows()).toMatchObject([{ state: "failed", code: "CONFIG_INVALID", trigger_verdict: "refused" }]);
  return github;
}

function retry(sender: string, commentId: number) {
  return foreman.receive(
    "issue_comment",
    buildIssueCommentPayload({ body: "/foreman retry", issueNumber: 1, sender, senderType: "User", commentId }),
  );
}

describe("/foreman retry after the task ended", () => {
  test("from someone without write access: no task row, one refusal however often asked", async () => {
    const github = await endTaskWithInvalidConfig();
    const before = github.writes().length;
    github.permission("mallory", "read").permission("mallory", "read");
    const marker = `<!-- foreman:refusal:issue:${REPO.id}:1:mallory -->`;
    // A refusal is looked for before it is posted: the first time there is none, the second time it is found.
    github.scope.get(`${REPO_PATH}/issues/1/comments`).query({ per_page: "100" }).reply(200, []);
    github.scope
      .post(`${REPO_PATH}/issues/1/comments`, (body: { body?: string }) => body.body?.startsWith(marker) === true)
      .reply(201, { id: 9100 });
    github.scope
      .get(`${REPO_PATH}/issues/1/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 9100, body: `${marker}\nsorry`, user: { login: "foreman[bot]" } }]);

    await retry("mallory", 8101);
    await foreman.settle();
    await retry("mallory", 8102);
    await foreman.settle();

    expect(await taskRows()).toHaveLength(1);
    expect(
      github
        .writes()
        .slice(before)
        .map((request) => `${request.method} ${request.path}`),
    ).toEqual([`POST ${REPO_PATH}/issues/1/comments`]);
    const records =
      await database.sql`select kind, actor from compliance_records where kind like 'effect.authorize_%' order by seq`;
    expect(records.map((record) => record.kind)).toEqual([
      "effect.authorize_trigger",
      "effect.authorize_actor",
      "effect.authorize_actor",
    ]);
  });

  test("from writers, twice before the new task began: exactly one new task, and the second is told one is on its way", async () => {
    const github = await endTaskWithInvalidConfig();
    github.permission("lead", "write").permission("erin", "admin");
    github.scope
      .post(
        `${REPO_PATH}/issues/1/comments`,
        (body: { body?: string }) => body.body?.includes("foreman:answer:") === true,
      )
      .reply(201, { id: 9200 });
    // The new task reads the config again: now valid, but without the old label, so it ends without a word.
    github.config("triggerLabels:\n  agent:bugfix: bugfix\n");

    await retry("lead", 8201);
    await retry("erin", 8202);
    await foreman.settle();

    const tasks = await taskRows();
    expect(tasks).toMatchObject([
      { state: "failed", code: "CONFIG_INVALID" },
      { state: "cancelled", trigger_verdict: "not_a_trigger", triggered_by: "lead" },
    ]);
    const note = github.writes().at(-1)!.body as { body: string };
    expect(note.body).toContain(
      "@erin: @lead already asked to retry this task; Foreman starts one new task for it. `/foreman status` says how it is going.",
    );
    // The new task keeps the issue's text as the confirmed retry's comment webhook carried it.
    const comment = buildIssueCommentPayload({ body: "/foreman retry", issueNumber: 1 });
    const [successor] = await database.sql`select issue_snapshot from tasks where id = ${tasks[1]!.id}`;
    expect(successor!.issue_snapshot).toEqual({
      title: comment.issue.title,
      body: comment.issue.body ?? "",
      updatedAt: comment.issue.updated_at,
    });
    const [ended] = await database.sql`select pipeline->'retriedBy' as retried from tasks where id = ${tasks[0]!.id}`;
    expect(ended!.retried).toEqual({ login: "lead", commentId: 8201 });
    // Each comment is recorded once, on the ended task it was about; the confirmed retry is not recorded again.
    const commands =
      await database.sql`select task_id, actor from compliance_records where kind = 'command.received' order by seq`;
    expect(commands).toEqual([
      { task_id: tasks[0]!.id, actor: "lead" },
      { task_id: tasks[0]!.id, actor: "erin" },
    ]);
  });
});
