import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { mockGitHub, mockLabelToDraftPr, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { createTestDatabase, resetTables, type TestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

let database: TestDatabase;
let foreman: TestForeman;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});
beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database);
});
afterEach(async () => {
  await foreman.stop();
});

async function taskRows() {
  return database.sql`select state, branch, pr_number, status_comment_id::int as status_comment_id, reason, resume_state, frozen_by from tasks order by created_at`;
}

describe("agent label → draft PR", () => {
  test("a label from a writer makes exactly the plan commit, branch, draft PR, PR label and one status comment", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);

    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1, title: "Spelling error in the README file" }));
    await foreman.settle();

    expect(github.reads().map((request) => request.path)).toEqual([
      `${REPO_PATH}/collaborators/Codertocat/permission`,
      `${REPO_PATH}/contents/.github/foreman.yml?ref=master`,
      `${REPO_PATH}/branches/master`,
    ]);
    const writes = github.writes();
    expect(writes.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST ${REPO_PATH}/git/commits`,
      `POST ${REPO_PATH}/git/refs`,
      `POST ${REPO_PATH}/pulls`,
      `POST ${REPO_PATH}/issues/7/labels`,
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    expect(writes[0]!.body).toEqual({
      message: "Plan: Spelling error in the README file\n\nForeman starts work on #1. This empty commit opens the branch; agent steps follow.",
      tree: "base-tree-sha",
      parents: ["base-sha"],
    });
    expect(writes[1]!.body).toEqual({ ref: "refs/heads/agent/1-spelling-error-in-the-readme-file", sha: "plan-sha" });
    expect(writes[2]!.body).toMatchInlineSnapshot(`
      {
        "base": "master",
        "body": "Closes #1

      Foreman opened this draft for the \`agent:ready\` label added by @Codertocat.
      Agents push their work here as verified commits; the bot never approves or merges.

      Add the \`needs-human-review\` label to freeze it; remove the agent label from the issue to cancel.",
        "draft": true,
        "head": "agent/1-spelling-error-in-the-readme-file",
        "maintainer_can_modify": true,
        "title": "Spelling error in the README file",
      }
    `);
    expect(writes[3]!.body).toEqual({ labels: ["ai-generated"] });
    expect((writes[4]!.body as { body: string }).body).toMatchInlineSnapshot(`
      "<!-- foreman:status -->
      ### 🤖 Foreman: draft PR open, waiting for an agent

      Draft PR #7 is open on \`agent/1-spelling-error-in-the-readme-file\`. An agent picks the task up next.

      | | |
      |---|---|
      | State | \`awaiting_agent\` |
      | Task | \`00000000-0000-4000-8000-000000000001\` · \`agent:ready\` by @Codertocat |
      | Branch | [\`agent/1-spelling-error-in-the-readme-file\`](https://github.com/Codertocat/Hello-World/tree/agent/1-spelling-error-in-the-readme-file) |
      | Pull request | #7 (draft) |

      <sub>Foreman edits this comment as the task moves. Add \`needs-human-review\` to freeze it · remove \`agent:ready\` to cancel.</sub>
      "
    `);

    const [task] = await taskRows();
    expect(task).toMatchObject({ state: "awaiting_agent", branch: "agent/1-spelling-error-in-the-readme-file", pr_number: 7, status_comment_id: 9001 });
  });
});
