import { describe, expect, test } from "vitest";
import {
  actionWrites,
  buildLoopConfig,
  completeSuite,
  labelIssue,
  LOOP_BRANCH,
  LOOP_PR,
  lastPushParent,
  mockLoopGitHub,
  PIPELINE_WRITES,
  PUSH_WRITES,
  readLoopJobs,
  readLoopTask,
  ROLE_SCRIPTS,
  useLoopForeman,
} from "../../helpers/loop-harness.js";
import { REPO_PATH } from "../../helpers/github-mock.js";
import { buildReviewPayload } from "../../helpers/more-payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

// Reviews with real containers: a human's review asking for changes sends the coder back (once the
// reviewer's write access is confirmed), and the reviewer agent's "needs changes" causes one bounded revision.

const loop = useLoopForeman({ idPrefix: "d0000000" });

/** A human's review of the PR, by a user. */
function submitReview(options: { sender: string; reviewId: number; body: string; state?: string }): Promise<void> {
  return loop.foreman.receive(
    "pull_request_review",
    buildReviewPayload({
      prNumber: LOOP_PR,
      headRef: LOOP_BRANCH,
      state: options.state ?? "changes_requested",
      body: options.body,
      reviewId: options.reviewId,
      commitId: "code-sha",
      sender: options.sender,
      senderType: "User",
    }),
  );
}

const HUMAN_REVIEW = "Please write README in capitals and keep the first line short.";
const INLINE_COMMENT = "Capital T here, please.";

describe("reviews in the loop", () => {
  test("a review asking for changes while the PR is ready: a reader's is ignored after the permission read; a writer's runs a coder revision with the review and its inline comments, pushes, and waits for CI again", async () => {
    const github = mockLoopGitHub(buildLoopConfig()).draftPr();
    await github.stepReads("plan-sha", { times: 2 }); // planner and coder
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha", { times: 2 }); // reviewer, then the human revision
    github.diff("code-sha").review();
    await labelIssue(loop.foreman);
    await loop.foreman.settle();
    github.ciVerdict("code-sha", "success", 42);
    github.pullReads([{ number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" }]).markReady();
    await completeSuite(loop.foreman, "code-sha", "success", 42);
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({ state: "ready_for_review", head_sha: "code-sha" });
    const readyWrites = [...PIPELINE_WRITES, "POST /graphql"];
    expect(actionWrites(github)).toEqual(readyWrites);

    // Someone with read access asks for changes: the permission is read, and nothing else happens.
    github.permission("reader", "read");
    await submitReview({ sender: "reader", reviewId: 88, body: "Rewrite it all." });
    await loop.foreman.settle();
    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "ready_for_review",
      head_sha: "code-sha",
      pipeline: { humanRevisions: 0 },
    });
    expect((await readLoopJobs(loop.database)).map((job) => job.role)).toEqual(["planner", "coder", "reviewer"]);
    expect(actionWrites(github)).toEqual(readyWrites);
    expect(github.reads().some((request) => request.path.includes("/reviews/88/"))).toBe(false);

    // A writer asks for changes: the permission is read, the review's inline comments are fetched, the coder revises.
    github.permission("octocat", "write");
    github.scope
      .get(`${REPO_PATH}/pulls/${LOOP_PR}/reviews/89/comments`)
      .query({ per_page: "100" })
      .reply(200, [
        {
          id: 5001,
          pull_request_review_id: 89,
          path: "README.md",
          line: 1,
          body: INLINE_COMMENT,
          user: { login: "octocat" },
        },
      ]);
    github.push("code-sha", "revision-sha");
    await submitReview({ sender: "octocat", reviewId: 89, body: HUMAN_REVIEW });
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "revision-sha",
      step: "coder",
      pipeline: { humanRevisions: 1, ciAttempts: 0 },
    });
    const permissionReads = github
      .reads()
      .filter((request) => request.path.endsWith("/permission"))
      .map((request) => request.path);
    expect(permissionReads).toEqual([
      `${REPO_PATH}/collaborators/Codertocat/permission`,
      `${REPO_PATH}/collaborators/reader/permission`,
      `${REPO_PATH}/collaborators/octocat/permission`,
    ]);
    const jobs = await readLoopJobs(loop.database);
    expect(jobs.map((job) => job.role)).toEqual(["planner", "coder", "reviewer", "coder"]);
    const revision = jobs.at(-1)!;
    expect(revision).toMatchObject({ status: "succeeded", base_sha: "code-sha" });
    expect(revision.prompt).toContain("@octocat reviewed the previous attempt and asked for changes");
    expect(revision.prompt).toContain(HUMAN_REVIEW);
    expect(revision.prompt).toContain("### `README.md`, line 1");
    expect(revision.prompt).toContain(INLINE_COMMENT);
    expect(revision.prompt).not.toContain("Rewrite it all.");
    expect(actionWrites(github)).toEqual([...readyWrites, ...PUSH_WRITES]);
    expect(lastPushParent(github)).toBe("code-sha");
    // Both reviews are on the record.
    expect(
      await loop.database
        .sql`select actor, payload->>'reviewId' as review, payload->>'state' as state from compliance_records where kind = 'review.submitted' order by seq`,
    ).toEqual([
      { actor: "reader", review: "88", state: "changes_requested" },
      { actor: "octocat", review: "89", state: "changes_requested" },
    ]);
  }, 60_000);

  test("the reviewer agent says needs_changes → its review is posted as a COMMENT review, one review_revision coder step gets it, then the task waits for CI", async () => {
    const github = mockLoopGitHub(buildLoopConfig({ reviewer: ROLE_SCRIPTS.reviewerNeedsChanges })).draftPr();
    await github.stepReads("plan-sha", { times: 2 }); // planner and coder
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha", { times: 2 }); // reviewer, then the revision
    github.diff("code-sha").review();
    github.push("code-sha", "revision-sha");
    await labelIssue(loop.foreman);
    await loop.foreman.settle();

    expect(await readLoopTask(loop.database)).toMatchObject({
      state: "awaiting_ci",
      head_sha: "revision-sha",
      step: "coder",
      pipeline: { reviewRevisions: 1, purpose: "review_revision" },
    });
    // One revision, and the reviewer does not run again (maxReviewRevisions is 1 by default).
    const jobs = await readLoopJobs(loop.database);
    expect(jobs.map((job) => `${job.role}@${job.base_sha}:${job.status}`)).toEqual([
      "planner@plan-sha:succeeded",
      "coder@plan-sha:succeeded",
      "reviewer@code-sha:succeeded",
      "coder@code-sha:succeeded",
    ]);
    const revisionPrompt = jobs.at(-1)!.prompt!;
    expect(revisionPrompt).toContain("@the reviewer agent reviewed the previous attempt and asked for changes");
    expect(revisionPrompt).toContain("Please also add a note line to README.md.");
    // The reviewer agent's review has no id on GitHub to read inline comments from.
    expect(github.reads().some((request) => /\/reviews\/\d+\/comments/.test(request.path))).toBe(false);

    expect(actionWrites(github)).toEqual([...PIPELINE_WRITES, ...PUSH_WRITES]);
    const review = github.writes().find((request) => request.path.endsWith(`/pulls/${LOOP_PR}/reviews`))!.body as {
      event: string;
      commit_id: string;
      body: string;
    };
    expect(review).toMatchObject({ event: "COMMENT", commit_id: "code-sha" });
    expect(loop.stable(review.body)).toMatchInlineSnapshot(`
      "<!-- foreman:review:d0000000-0000-4000-8000-000000000016 -->
      ### 🔎 Foreman reviewer step

      Please also add a note line to README.md."
    `);
    expect(JSON.stringify(github.writes())).not.toMatch(/"event":"(APPROVE|REQUEST_CHANGES)"/);
    // The revision's commit sits on the reviewed one.
    expect(lastPushParent(github)).toBe("code-sha");
  }, 60_000);
});
