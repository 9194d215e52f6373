import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { mockGitHub, mockLabelToDraftPr, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssuesPayload, buildPullRequestPayload } from "../helpers/payloads.js";
import { buildIssueCommentPayload } from "../helpers/more-payloads.js";
import { verifyChain, type ChainRecord } from "../../src/chain/chain.js";
import { processNextEvent } from "../../src/engine/process-next-event.js";
import { runNextEffect } from "../../src/engine/run-next-effect.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

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
  return database.sql`select state, branch, pr_number, status_comment_id::int as status_comment_id, reason, resume_state, frozen_by, trigger_verdict from tasks order by created_at`;
}

describe("agent label → draft PR", () => {
  test("a label from a writer makes exactly the plan commit, branch, draft PR, PR label and one status comment (no check run on the empty plan commit)", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);

    await foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "labeled",
        label: "agent:ready",
        issueNumber: 1,
        title: "Spelling error in the README file",
      }),
    );
    await foreman.settle();

    expect(github.reads().map((request) => request.path)).toEqual([
      `${REPO_PATH}/contents/.github/foreman.yml?ref=master`,
      `${REPO_PATH}/collaborators/Codertocat/permission`,
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
      message:
        "Plan: Spelling error in the README file\n\nForeman starts work on #1. This empty commit opens the branch; agent steps follow.",
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

      Draft PR #7 is open on \`agent/1-spelling-error-in-the-readme-file\`. The planner step starts when a container slot is free (1st in the queue).

      | | |
      |---|---|
      | State | \`awaiting_agent\` |
      | Task | \`00000000-0000-4000-8000-000000000001\` · \`agent:ready\` by @Codertocat |
      | Branch | [\`agent/1-spelling-error-in-the-readme-file\`](https://github.com/Codertocat/Hello-World/tree/agent/1-spelling-error-in-the-readme-file) |
      | Pull request | #7 (draft) |

      **Steps**

      - ⬜ \`planner\`

      <sub>Foreman edits this comment as the task moves. Add \`needs-human-review\` to freeze it · remove \`agent:ready\` to cancel.</sub>
      "
    `);

    const [task] = await taskRows();
    expect(task).toMatchObject({
      state: "awaiting_agent",
      branch: "agent/1-spelling-error-in-the-readme-file",
      pr_number: 7,
      status_comment_id: 9001,
    });
  });

  test("the run leaves an unbroken compliance chain: one transition record per state change, one record per action", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    const rows =
      await database.sql`select seq::int, task_id as "taskId", kind, actor, payload, prev_hash as "prevHash", hash, created_at as "createdAt" from compliance_records order by seq`;
    const records = rows.map((row) => ({
      ...row,
      createdAt: new Date(row.createdAt as string).toISOString(),
    })) as unknown as ChainRecord[];
    expect(verifyChain(records)).toMatchObject({ ok: true, count: records.length });
    const transitions = records
      .filter((record) => record.kind === "task.transition")
      .map((record) => (record.payload as { to: string }).to);
    expect(transitions).toEqual(["queued", "preparing", "preparing", "awaiting_agent"]);
    expect(records.filter((record) => record.kind.startsWith("effect.")).map((record) => record.kind)).toEqual([
      "effect.authorize_trigger",
      "effect.ensure_branch",
      "effect.open_draft_pr",
      "effect.add_labels",
      "effect.upsert_status_comment",
    ]);
    expect(records[0]).toMatchObject({
      actor: "Codertocat",
      payload: { event: "issue_labeled", from: null, to: "queued" },
    });
  });

  test("the issue's text is snapshotted with the task, and the authorisation record names the text it covers", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    const payload = buildIssuesPayload({
      action: "labeled",
      label: "agent:ready",
      issueNumber: 1,
      title: "Spelling error in the README file",
      updatedAt: "2026-03-04T05:06:07Z",
    });
    payload.issue.body = "The README says `teh`.\r\n<!-- a hidden line -->";

    await foreman.receive("issues", payload);
    await foreman.settle();

    const [task] = await database.sql`select issue_snapshot from tasks`;
    expect(task!.issue_snapshot).toEqual({
      title: "Spelling error in the README file",
      body: "The README says `teh`.\r\n<!-- a hidden line -->",
      updatedAt: "2026-03-04T05:06:07Z",
    });
    const [record] = await database.sql`select payload from compliance_records where kind = 'effect.authorize_trigger'`;
    // sha256 of the canonical JSON of { title, body } (keys sorted), as an auditor would recompute it.
    const canonical = JSON.stringify({ body: payload.issue.body, title: "Spelling error in the README file" });
    expect(record!.payload).toMatchObject({
      issueUpdatedAt: "2026-03-04T05:06:07Z",
      issueSha256: createHash("sha256").update(canonical, "utf8").digest("hex"),
    });
  });

  test("a redelivery with the same delivery id makes no second effect", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    const payload = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 });
    await foreman.receive("issues", payload, "delivery-a");
    await foreman.settle();
    await foreman.receive("issues", payload, "delivery-a");
    await foreman.settle();

    expect(github.writes()).toHaveLength(5);
    const [row] = await database.sql`select count(*)::int as count from webhook_deliveries where source = 'github'`;
    expect(row?.count).toBe(1);
  });

  test("the same label delivered twice under two ids, at the same time as another issue's label, makes one task per issue", async () => {
    const github = mockGitHub().token();
    github
      .permission("Codertocat", "write")
      .permission("Codertocat", "write")
      .config(null)
      .config(null)
      .branch()
      .branch();
    github
      .planCommit("plan-1")
      .planCommit("plan-2")
      .createRef()
      .createRef()
      .pull(7)
      .pull(8)
      .labels(7)
      .labels(8)
      .createComment(1, 1001)
      .createComment(2, 1002);
    const first = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1, title: "First" });
    const second = buildIssuesPayload({ action: "labeled", label: "agent:bugfix", issueNumber: 2, title: "Second" });
    await Promise.all([
      foreman.receive("issues", first, "hook-1"),
      foreman.receive("issues", first, "hook-2"),
      foreman.receive("issues", second, "hook-3"),
    ]);
    await foreman.settle();

    const tasks = await database.sql`select issue_number, type, state, pr_number from tasks order by issue_number`;
    expect(tasks.map((task) => ({ ...task }))).toEqual([
      { issue_number: 1, type: "ready", state: "awaiting_agent", pr_number: expect.any(Number) },
      { issue_number: 2, type: "bugfix", state: "awaiting_agent", pr_number: expect.any(Number) },
    ]);
    expect(github.writes().filter((request) => request.path.endsWith("/pulls"))).toHaveLength(2);
  });

  test("events of one issue are applied in the order they arrived", async () => {
    await foreman.worker.stop();
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "labeled",
        label: "needs-human-review",
        issueNumber: 1,
        sender: "octocat",
        updatedAt: "2019-05-15T15:21:00Z",
      }),
    );
    // The lane hands out the label first, then the freeze, whichever worker asks.
    expect(await processNextEvent(foreman.deps)).toBe(true);
    expect(await taskRows()).toMatchObject([{ state: "queued" }]);
    expect(await processNextEvent(foreman.deps)).toBe(true);
    // The label is not judged yet (a candidate): the freeze holds it and says nothing, and its trigger
    // check waits in the outbox until the freeze is lifted. The mock is strict: no request at all.
    const github = mockGitHub();
    await foreman.worker.start();
    await foreman.settle();

    const [task] = await taskRows();
    expect(task).toMatchObject({
      state: "frozen",
      resume_state: "queued",
      frozen_by: "octocat",
      trigger_verdict: "pending",
    });
    expect(github.requests).toEqual([]);
    expect(await database.sql`select kind, status from effects order by id`).toMatchObject([
      { kind: "authorize_trigger", status: "pending" },
    ]);
  });

  test("a label from someone without triage access starts nothing and the status comment says why", async () => {
    const github = mockGitHub().token().config(null).permission("drive-by", "read").createComment(1);
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1, sender: "drive-by" }),
    );
    await foreman.settle();

    expect(github.writes().map((request) => request.path)).toEqual([`${REPO_PATH}/issues/1/comments`]);
    expect((github.writes()[0]!.body as { body: string }).body).toMatchInlineSnapshot(`
      "<!-- foreman:status -->
      ### ⏹️ Foreman: stopped

      Foreman stopped; it will not push anything more for this task.

      | | |
      |---|---|
      | State | \`cancelled\` |
      | Task | \`00000000-0000-4000-8000-000000000001\` · \`agent:ready\` by @drive-by |

      > **Why:** @drive-by added \`agent:ready\`, but their role on this repository is \`read\`; starting Foreman needs triage access or more. Nothing was started.
      >
      > **What to do:** someone with triage, write, maintain or admin access on this repository can add the label.

      <sub>Foreman edits this comment as the task moves. Add \`needs-human-review\` to freeze it · remove \`agent:ready\` to cancel.</sub>
      "
    `);
    const [task] = await taskRows();
    expect(task).toMatchObject({ state: "cancelled", reason: { code: "SENDER_NOT_ALLOWED" } });
  });

  test("an invalid .github/foreman.yml is named key by key on the issue and nothing else happens", async () => {
    const github = mockGitHub()
      .token()
      .permission("Codertocat", "admin")
      .config("freezeLabel: 3\nbranchPrefix: bots\nprLabel: [x]\n")
      .createComment(1);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    expect(github.writes()).toHaveLength(1);
    expect((github.writes()[0]!.body as { body: string }).body).toMatchInlineSnapshot(`
      "<!-- foreman:status -->
      ### ❌ Foreman: failed

      Foreman could not continue with this task.

      | | |
      |---|---|
      | State | \`failed\` |
      | Task | \`00000000-0000-4000-8000-000000000001\` · \`agent:ready\` by @Codertocat |

      > **Why:** \`.github/foreman.yml\` on \`master\` is invalid, so nothing else happened:
      > - \`freezeLabel\` must be a label name (text)
      > - \`branchPrefix\` must be a branch path ending in /, made of letters, digits, . _ - (e.g. agent/)
      > - unknown key \`prLabel\` (did you mean \`prLabels\`?): the known keys are triggerLabels, freezeLabel, branchPrefix, prLabels, agent, profiles, guardrails, budgets, mode, pipeline, roles, maxReviewRevisions, maxCiAttempts, ci, reviewers, prompt
      >
      > **What to do:** fix \`.github/foreman.yml\` on the default branch, then remove and re-add the label.

      <sub>Foreman edits this comment as the task moves. Add \`needs-human-review\` to freeze it · remove \`agent:ready\` to cancel.</sub>
      "
    `);
    const [task] = await taskRows();
    expect(task).toMatchObject({ state: "failed", reason: { code: "CONFIG_INVALID" } });
  });

  test("a .github/foreman.yml over 1 MB, which GitHub serves without content, fails the task naming its size, not the defaults", async () => {
    const github = mockGitHub().token().permission("Codertocat", "admin").createComment(1);
    // The contents API's answer for a file between 1 and 100 MB: the metadata, no content.
    github.scope
      .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/foreman.yml")}`)
      .query({ ref: REPO.defaultBranch })
      .reply(200, {
        type: "file",
        encoding: "none",
        content: "",
        size: 2_000_000,
        path: ".github/foreman.yml",
        name: "foreman.yml",
        sha: "cfg",
      });
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();

    expect(github.writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST ${REPO_PATH}/issues/1/comments`,
    ]);
    const body = (github.writes()[0]!.body as { body: string }).body;
    expect(body).toContain("> **Why:** `.github/foreman.yml` on `master` is invalid, so nothing else happened:");
    expect(body).toContain(
      "> - .github/foreman.yml is 2000000 bytes; GitHub's contents API returns files up to 1048576 bytes (1 MB), so Foreman cannot read it. Make the file smaller.",
    );
    const [task] = await taskRows();
    expect(task).toMatchObject({ state: "failed", reason: { code: "CONFIG_INVALID" } });
  });

  test("a custom trigger label works the first time, and ordinary labels cost nothing once the config is known", async () => {
    const config =
      "triggerLabels:\n  bot-please: feature\nprLabels: [bot, needs-review-later]\nbranchPrefix: bots/foreman/\n";
    const github = mockGitHub()
      .token()
      .config(config)
      .permission("Codertocat", "maintain")
      .branch()
      .planCommit()
      .createRef()
      .pull(8)
      .labels(8)
      .createComment(2);
    // Foreman has never read this repo's config: any label may be a custom trigger, so it reads it.
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "labeled", label: "bot-please", issueNumber: 2, title: "Add dark mode" }),
    );
    await foreman.settle();
    const writes = github.writes();
    expect(writes.find((request) => request.path.endsWith("/git/refs"))!.body).toEqual({
      ref: "refs/heads/bots/foreman/2-add-dark-mode",
      sha: "plan-sha",
    });
    expect(writes.find((request) => request.path.endsWith("/labels"))!.body).toEqual({
      labels: ["bot", "needs-review-later"],
    });
    expect(await database.sql`select type, state from tasks`).toMatchObject([
      { type: "feature", state: "awaiting_agent" },
    ]);

    // Now the labels are known: an ordinary label on another issue makes no request at all.
    const before = github.requests.length;
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "bug", issueNumber: 3 }));
    await foreman.settle();
    expect(github.requests.length).toBe(before);
  });

  test("an agent: label the repo config does not list ends silently, without asking for the sender's role", async () => {
    const github = mockGitHub().token().config("triggerLabels:\n  bot-please: feature\n");
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1, sender: "drive-by" }),
    );
    await foreman.settle();
    expect(github.writes()).toEqual([]);
    expect(github.reads().map((request) => request.path)).toEqual([
      `${REPO_PATH}/contents/.github/foreman.yml?ref=master`,
    ]);
    expect(await taskRows()).toMatchObject([{ state: "cancelled", reason: { code: "NOT_A_TRIGGER" } }]);
  });

  test("freezing on the PR holds the task and unfreezing resumes it: while frozen only the status comment is written", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    github.updateComment().updateComment();
    const branch = "agent/1-spelling-error-in-the-readme-file";
    await foreman.receive(
      "pull_request",
      buildPullRequestPayload({
        action: "labeled",
        prNumber: 7,
        headRef: branch,
        label: "needs-human-review",
        sender: "lead",
      }),
    );
    await foreman.settle();
    expect(await taskRows()).toMatchObject([{ state: "frozen", resume_state: "awaiting_agent", frozen_by: "lead" }]);
    expect((github.writes().at(-1)!.body as { body: string }).body).toContain(
      "@lead added `needs-human-review` on the pull request",
    );
    expect(
      github
        .writes()
        .slice(5)
        .map((request) => `${request.method} ${request.path}`),
    ).toEqual([`PATCH ${REPO_PATH}/issues/comments/9001`]);

    await foreman.receive(
      "pull_request",
      buildPullRequestPayload({
        action: "unlabeled",
        prNumber: 7,
        headRef: branch,
        label: "needs-human-review",
        sender: "lead",
        updatedAt: "2030-01-01T00:00:00Z",
      }),
    );
    await foreman.settle();
    expect(await taskRows()).toMatchObject([{ state: "awaiting_agent", resume_state: null, frozen_by: null }]);
    expect(
      github
        .writes()
        .slice(5)
        .map((request) => `${request.method} ${request.path}`),
    ).toEqual([`PATCH ${REPO_PATH}/issues/comments/9001`, `PATCH ${REPO_PATH}/issues/comments/9001`]);
  });

  test("closing the issue cancels the task, says so, and leaves the PR alone", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    github.updateComment();
    await foreman.receive(
      "issues",
      buildIssuesPayload({ action: "closed", issueNumber: 1, sender: "lead", updatedAt: "2030-01-01T00:00:00Z" }),
    );
    await foreman.settle();

    expect(await taskRows()).toMatchObject([{ state: "cancelled", reason: { code: "ISSUE_CLOSED" } }]);
    expect(
      github
        .writes()
        .slice(5)
        .map((request) => `${request.method} ${request.path}`),
    ).toEqual([`PATCH ${REPO_PATH}/issues/comments/9001`]);
    const comment = github.writes().find((request) => request.path.endsWith("/comments/9001"))!.body as {
      body: string;
    };
    expect(comment.body).toContain("@lead closed the issue, so Foreman stopped");

    // Asked about afterwards, the ended task still answers (a writer's `/foreman status`), and stays as it is.
    github.permission("lead", "write");
    github.scope
      .post(
        `${REPO_PATH}/issues/1/comments`,
        (body: { body?: string }) => body.body?.includes("foreman:answer:") === true,
      )
      .reply(201, { id: 9050 });
    await foreman.receive(
      "issue_comment",
      buildIssueCommentPayload({
        body: "/foreman status",
        issueNumber: 1,
        sender: "lead",
        senderType: "User",
        commentId: 4242,
      }),
    );
    await foreman.settle();
    const answer = github.writes().at(-1)!.body as { body: string };
    expect(answer.body).toContain("@lead, here is where this task stands.");
    expect(answer.body).toContain("`cancelled`");
    expect(await taskRows()).toMatchObject([{ state: "cancelled" }]);
  });

  test("removing the agent label before the trigger check ran cancels without a word; the queued check is dropped", async () => {
    await foreman.worker.stop();
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "unlabeled",
        label: "agent:ready",
        issueNumber: 1,
        sender: "lead",
        updatedAt: "2030-01-01T00:00:00Z",
      }),
    );
    // Apply both events before any effect runs (the worker would race the authorisation against the removal).
    expect(await processNextEvent(foreman.deps)).toBe(true);
    expect(await processNextEvent(foreman.deps)).toBe(true);
    const github = mockGitHub();
    await foreman.worker.start();
    await foreman.settle();

    expect(await taskRows()).toMatchObject([{ state: "cancelled", reason: { code: "AGENT_LABEL_REMOVED" } }]);
    expect(github.requests).toEqual([]);
    const effects = await database.sql`select kind, status from effects order by id`;
    expect(effects.map((effect) => `${effect.kind}:${effect.status}`)).toEqual(["authorize_trigger:skipped"]);
  });

  test("removing the agent label while the branch is being made cancels; queued GitHub writes are dropped and the issue is told", async () => {
    const github = mockGitHub().token().permission("Codertocat", "write").config(null);
    await foreman.worker.stop();
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    expect(await processNextEvent(foreman.deps)).toBe(true);
    // The trigger check runs (an authorised task now), then the label goes before its branch is made.
    expect(await runNextEffect(foreman.deps)).not.toBe("none");
    await foreman.receive(
      "issues",
      buildIssuesPayload({
        action: "unlabeled",
        label: "agent:ready",
        issueNumber: 1,
        sender: "lead",
        updatedAt: "2030-01-01T00:00:00Z",
      }),
    );
    expect(await processNextEvent(foreman.deps)).toBe(true);
    github.createComment(1);
    await foreman.worker.start();
    await foreman.settle();

    expect(await taskRows()).toMatchObject([
      { state: "cancelled", trigger_verdict: "authorized", reason: { code: "AGENT_LABEL_REMOVED" } },
    ]);
    expect(github.writes().map((request) => request.path)).toEqual([`${REPO_PATH}/issues/1/comments`]);
    const effects = await database.sql`select kind, status from effects order by id`;
    expect(effects.map((effect) => `${effect.kind}:${effect.status}`)).toEqual([
      "authorize_trigger:done",
      "ensure_branch:skipped",
      "open_draft_pr:skipped",
      "upsert_status_comment:done",
    ]);
  });

  test("a merged PR ends the task as merged", async () => {
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    github.updateComment();
    await foreman.receive(
      "pull_request",
      buildPullRequestPayload({
        action: "closed",
        prNumber: 7,
        headRef: "agent/1-spelling-error-in-the-readme-file",
        merged: true,
        sender: "lead",
      }),
    );
    await foreman.settle();
    expect(await taskRows()).toMatchObject([{ state: "merged" }]);
  });

  test("a transient GitHub error is retried durably; a permanent one fails the task in plain words", async () => {
    const github = mockGitHub()
      .token()
      .permission("Codertocat", "write")
      .config(null)
      .branch()
      .planCommit()
      .createRef();
    github.scope.post(`${REPO_PATH}/pulls`).reply(502, { message: "Bad Gateway" });
    github.scope
      .post(`${REPO_PATH}/pulls`)
      .reply(422, { message: "Validation Failed", errors: [{ message: "No commits between master and agent/1" }] });
    // Each retry looks for an existing PR before creating one.
    github.scope
      .get(`${REPO_PATH}/pulls`)
      .query({ head: `${REPO.owner}:agent/1-spelling-error-in-the-readme-file`, state: "open", per_page: "1" })
      .times(2)
      .reply(200, []);
    github.createComment(1);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await foreman.settle();

    expect(await taskRows()).toMatchObject([{ state: "failed", reason: { code: "GITHUB_ERROR" } }]);
    const comment = (github.writes().at(-1)!.body as { body: string }).body;
    expect(comment).toContain("GitHub rejected POST /repos/Codertocat/Hello-World/pulls (422: Validation Failed)");
    expect(comment).toContain("**What to do:**");
  });
});

describe("crash recovery", () => {
  test("a crash after the branch exists but before the PR: a restarted worker opens the PR and never makes the branch twice", async () => {
    await foreman.stop();
    const first = await startTestForeman(database, { leaseMs: 300 });
    const github = mockGitHub().token().permission("Codertocat", "write").config(null).branch().planCommit();
    // GitHub creates the ref, then this process "dies" before it can record that.
    github.scope.post(`${REPO_PATH}/git/refs`).reply(201, () => {
      void first.deps.database.sql.end({ timeout: 0 });
      return { ref: "refs/heads/agent/1-spelling-error-in-the-readme-file", object: { sha: "plan-sha" } };
    });
    await first.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await first.stop();
    expect(await database.sql`select kind, status from effects where kind = 'ensure_branch'`).toMatchObject([
      { status: "running" },
    ]);

    // The restarted replica: the lease expires, the effect runs again, looks first, adopts the branch.
    github.token();
    github.scope
      .get(`${REPO_PATH}/git/ref/${encodeURIComponent("heads/agent/1-spelling-error-in-the-readme-file")}`)
      .reply(200, { ref: "refs/heads/agent/1-spelling-error-in-the-readme-file", object: { sha: "plan-sha" } });
    github.pull(7).labels(7).createComment(1);
    await new Promise((resolve) => setTimeout(resolve, 350));
    foreman = await startTestForeman(database, { leaseMs: 300 });
    await foreman.settle();

    expect(await taskRows()).toMatchObject([{ state: "awaiting_agent", pr_number: 7 }]);
    expect(github.writes().filter((request) => request.path.endsWith("/git/refs"))).toHaveLength(1);
  });
});
