import { describe, expect, test } from "vitest";
import { FileArtifactStore } from "../../../src/compliance/artifacts.js";
import { buildEvidenceBundle } from "../../../src/compliance/evidence-bundle.js";
import { verifyDatabase } from "../../../src/compliance/verify-database.js";
import { checkCoverage } from "../../../src/compliance/check-coverage.js";
import {
  actionWrites,
  buildLoopConfig,
  completeSuite,
  labelIssue,
  LOOP_BRANCH,
  LOOP_PR,
  mockLoopGitHub,
  PIPELINE_WRITES,
  useLoopForeman,
  writesSince,
} from "../../helpers/loop-harness.js";
import { REPO_PATH } from "../../helpers/github-mock.js";
import { buildClosedPullRequestPayload, buildReviewPayload } from "../../helpers/more-payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image

const loop = useLoopForeman({ idPrefix: "a0000000" });

describe("the whole loop, happy path", () => {
  test("label → plan → code → review → CI green → ready for review → merged, with the exact GitHub writes and a complete evidence bundle", async () => {
    const { foreman, database } = loop;
    const github = mockLoopGitHub(buildLoopConfig({ reviewers: ["octocat"] })).draftPr();
    await github.stepReads("plan-sha", { times: 2 }); // planner and coder
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha"); // reviewer
    github.diff("code-sha").review();

    await labelIssue(foreman);
    await foreman.settle();

    expect(await database.sql`select state, head_sha, step from tasks`).toMatchObject([
      { state: "awaiting_ci", head_sha: "code-sha", step: "reviewer" },
    ]);

    // CI of another app and on another SHA is recorded but moves nothing.
    await completeSuite(foreman, "plan-sha", "failure", 41);
    await foreman.settle();
    expect(await database.sql`select state from tasks`).toMatchObject([{ state: "awaiting_ci" }]);

    github.ciVerdict("code-sha", "success", 42);
    github
      .pullReads([
        { number: LOOP_PR, draft: true, node_id: "PR_kwDOAAABc84" },
        {
          number: LOOP_PR,
          merged: true,
          merge_commit_sha: "merge-sha",
          merged_by: { login: "octocat" },
          merged_at: "2026-11-21T00:02:00Z",
          head: { sha: "code-sha" },
        },
      ])
      .markReady();
    github.scope
      .post(`${REPO_PATH}/pulls/${LOOP_PR}/requested_reviewers`, { reviewers: ["octocat"], team_reviewers: [] })
      .reply(201, {});
    const beforeReady = github.writes().length;
    await completeSuite(foreman, "code-sha", "success", 42);
    await foreman.settle();
    expect(await database.sql`select state from tasks`).toMatchObject([{ state: "ready_for_review" }]);
    // Ready is one GraphQL request (ADR 0017): the PR out of draft, the status comment and the check
    // run drawn in it, so goReady's own redraws write nothing more.
    expect(writesSince(github, beforeReady)).toEqual(["POST /graphql", `POST /pulls/${LOOP_PR}/requested_reviewers`]);
    expect(
      await database.sql`select kind, status from effects where kind in ('upsert_status_comment', 'upsert_check_run') and status <> 'done'`,
    ).toEqual([]);

    // A human approves and merges: the approval and the merge commit go on the record.
    await foreman.receive(
      "pull_request_review",
      buildReviewPayload({
        prNumber: LOOP_PR,
        headRef: LOOP_BRANCH,
        state: "approved",
        sender: "octocat",
        reviewId: 77,
        commitId: "code-sha",
      }),
    );
    github.scope
      .get(`${REPO_PATH}/pulls/${LOOP_PR}/reviews`)
      .query(true)
      .reply(200, [
        {
          id: 901,
          user: { login: "foreman[bot]" },
          state: "COMMENTED",
          commit_id: "code-sha",
          submitted_at: "2026-11-21T00:00:00Z",
        },
        {
          id: 77,
          user: { login: "octocat" },
          state: "APPROVED",
          commit_id: "code-sha",
          submitted_at: "2026-11-21T00:01:00Z",
        },
      ]);
    await foreman.receive(
      "pull_request",
      buildClosedPullRequestPayload({
        prNumber: LOOP_PR,
        headRef: LOOP_BRANCH,
        merged: true,
        mergeCommitSha: "merge-sha",
        sender: "octocat",
      }),
    );
    await foreman.settle();
    // The merge comes right after the review in the issue's lane: settled means applied (a worker bug
    // once let the second event of a lane wait for the next poll, and settle() returned before it).
    expect(await database.sql`select state from tasks`).toMatchObject([{ state: "merged" }]);

    // Every write Foreman made, in order (redraws of the status comment and check run aside).
    expect(actionWrites(github)).toEqual([
      ...PIPELINE_WRITES,
      "POST /graphql",
      `POST /pulls/${LOOP_PR}/requested_reviewers`,
    ]);
    const review = github.writes().find((request) => request.path.endsWith("/reviews"))!.body as Record<
      string,
      unknown
    >;
    expect(review).toMatchObject({ event: "COMMENT", commit_id: "code-sha" });
    expect(JSON.stringify(github.writes())).not.toMatch(/"event":"(APPROVE|REQUEST_CHANGES)"/);
    expect(github.writes().some((request) => request.path.endsWith("/merge"))).toBe(false);

    // The check run ends green with the evidence link and the latest record hash.
    const lastCheckRun = github
      .writes()
      .filter((request) => request.path.includes("/check-runs"))
      .at(-1)!.body as { status: string; conclusion: string; output: { summary: string } };
    expect(lastCheckRun).toMatchObject({ status: "completed", conclusion: "success" });
    expect(lastCheckRun.output.summary).toContain(`https://foreman.example.test/api/compliance/tasks/${loop.id(1)}`);
    // The status comment's checklist shows the three steps.
    const lastComment = (
      github
        .writes()
        .filter((request) => request.path.endsWith("/comments/9001"))
        .at(-1)!.body as { body: string }
    ).body;
    expect(lastComment).toMatch(/✅ `planner`[\s\S]*✅ `coder` · pushed code-sh[\s\S]*✅ `reviewer`/);
    // The plan is in the status comment: no comment of its own on the PR.
    expect(lastComment).toContain("<details><summary>The planner's plan</summary>");
    expect(github.writes().some((request) => request.path.endsWith(`/issues/${LOOP_PR}/comments`))).toBe(false);

    const [{ id: taskId }] = (await database.sql`select id from tasks`) as unknown as [{ id: string }];
    const store = new FileArtifactStore(loop.artifactsDir);
    const bundle = await buildEvidenceBundle(database.sql, taskId, store, new Date());
    const kinds = new Set(bundle!.records.map((record: { kind: string }) => record.kind));
    for (const kind of [
      "task.transition",
      "effect.authorize_trigger",
      "agent_job.finished",
      "effect.post_review",
      "ci.suite_completed",
      "effect.collect_ci_result",
      "effect.mark_ready_for_review",
      "review.submitted",
      "effect.record_merge",
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    const merge = bundle!.records.find((record: { kind: string }) => record.kind === "effect.record_merge") as {
      payload: Record<string, unknown>;
    };
    expect(merge.payload).toMatchObject({
      mergeCommitSha: "merge-sha",
      mergedBy: "octocat",
      approvedByHuman: true,
      approvals: [{ login: "octocat", state: "APPROVED", commitId: "code-sha" }],
    });
    const jobs = bundle!.records.filter((record: { kind: string }) => record.kind === "agent_job.finished") as Array<{
      payload: { role: string; pushedSha: string | null };
    }>;
    expect(jobs.map((job) => `${job.payload.role}:${job.payload.pushedSha}`)).toEqual([
      "planner:null",
      "coder:code-sha",
      "reviewer:null",
    ]);
    // What ran is recorded by content, not only by tag.
    for (const job of jobs) expect((job.payload as { imageId?: string }).imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    // CI results are in the bundle as GitHub reported them: the other SHA's red suite and the head's green one.
    expect(bundle!.ciResults.map((result) => `${String(result.headSha)}:${String(result.conclusion)}`)).toEqual([
      "plan-sha:failure",
      "code-sha:success",
    ]);
    // The summary an auditor (and the change-management hook) reads: authorised, tested, approved, implemented.
    expect(bundle!.summary).toMatchObject({
      authorised: { by: "Codertocat", role: "write", label: "agent:ready" },
      tested: {
        headSha: "code-sha",
        verdict: "success",
        suites: [{ app: "github-actions", suiteId: 42, conclusion: "success" }],
      },
      approved: { by: "octocat", approvals: [{ login: "octocat", commitId: "code-sha" }], mergeCommitSha: "merge-sha" },
      implemented: { headSha: "code-sha", prNumber: LOOP_PR },
    });
    expect(await verifyDatabase(database.sql, { artifacts: store, publicKeys: null })).toMatchObject({ ok: true });
    expect(await checkCoverage(database.sql)).toEqual({ merged: 1, covered: 1, percent: 100, gaps: [] });
  }, 180_000);
});
