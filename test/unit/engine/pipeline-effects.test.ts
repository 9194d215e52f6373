import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import type { EffectInput } from "../../../src/engine/effects/effect-outcome.js";
import {
  runCollectCiResult,
  runPostReview,
  runRequestReviewers,
  runUpsertCheckRun,
} from "../../../src/engine/effects/pipeline-effects.js";
import { runRemoveLabel } from "../../../src/engine/effects/prepare-pull-request.js";
import type { TaskState } from "../../../src/workflow/states.js";
import type { Task } from "../../../src/workflow/task.js";
import { API, HEAD, REPO_PATH, buildTestOctokit, makePipelineTask } from "../github/pipeline-fixtures.js";

const PUBLIC_URL = "https://foreman.example.com";

// The latest compliance record's hash, as the effect runner reads it for a completed check run (load-effect-facts.test.ts reads it from a database).
const latestHash = "f".repeat(64);
let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

function input<P>(payload: P, task: Task, overrides: Partial<EffectInput<P>> = {}): EffectInput<P> {
  return {
    payload,
    task,
    octokit: buildTestOctokit(),
    attempt: 1,
    statusCommentId: null,
    webBaseUrl: "https://github.com",
    checkRun: null,
    publicUrl: PUBLIC_URL,
    facts: { jobs: [], queuePosition: null, latestRecordHash: latestHash },
    ...overrides,
  };
}

describe("runUpsertCheckRun", () => {
  it.each([
    ["running", "in_progress", undefined],
    ["awaiting_ci", "in_progress", undefined],
    ["frozen", "in_progress", undefined],
    ["ready_for_review", "completed", "success"],
    ["merged", "completed", "success"],
    ["escalated", "completed", "action_required"],
    ["failed", "completed", "failure"],
    ["closed", "completed", "neutral"],
    ["cancelled", "completed", "neutral"],
    ["completed", "completed", "neutral"],
  ] as Array<[TaskState, string, string | undefined]>)(
    "%s → PATCH status %s, conclusion %s",
    async (state, status, conclusion) => {
      const task = makePipelineTask(state);
      let sent: Record<string, unknown> = {};
      scope
        .patch(`${REPO_PATH}/check-runs/70`, (body: Record<string, unknown>) => {
          sent = body;
          return true;
        })
        .reply(200, { id: 70, status, conclusion: conclusion ?? null });

      const outcome = await runUpsertCheckRun(input({}, task, { checkRun: { id: 70, sha: HEAD } }));

      expect(outcome.checkRun).toEqual({ id: 70, sha: HEAD });
      expect(sent.status).toBe(status);
      expect(sent.conclusion).toBe(conclusion);
      const summary = (sent.output as { summary: string }).summary;
      if (conclusion) {
        // Always on a completed run: the evidence link and the task's latest record (not another task's).
        expect(sent.details_url).toBe(`${PUBLIC_URL}/api/compliance/tasks/${task.id}`);
        expect(summary).toContain(`- Compliance evidence: ${PUBLIC_URL}/api/compliance/tasks/${task.id}`);
        expect(summary).toContain(`- Latest compliance record: \`${latestHash}\``);
        expect(outcome.evidence).toMatchObject({
          checkRunId: 70,
          sha: HEAD,
          created: false,
          status,
          conclusion,
          recordHash: latestHash,
        });
      } else {
        expect(sent.details_url).toBeUndefined();
        expect(summary).not.toContain("### Evidence");
        expect(outcome.evidence).toMatchObject({
          checkRunId: 70,
          sha: HEAD,
          created: false,
          status,
          conclusion: null,
          recordHash: null,
        });
      }
      expect(outcome.evidence.summarySha256).toMatch(/^[0-9a-f]{64}$/);
    },
  );

  it("creates the run on the base SHA before any head, linking the PR when Foreman has no public URL", async () => {
    const task = makePipelineTask("escalated", { headSha: null, prUrl: null });
    scope
      .post(
        `${REPO_PATH}/check-runs`,
        (body: Record<string, unknown>) =>
          body.head_sha === task.baseSha &&
          body.conclusion === "action_required" &&
          body.details_url === "https://github.com/acme/api/pull/9",
      )
      .reply(201, { id: 71, status: "completed", conclusion: "action_required" });
    const outcome = await runUpsertCheckRun(input({}, task, { publicUrl: null }));
    expect(outcome.checkRun).toEqual({ id: 71, sha: task.baseSha });
    expect(outcome.evidence).toMatchObject({ created: true });
  });

  it("on a retry finds the run the first attempt created and writes no second one", async () => {
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ check_name: "foreman", per_page: "100" })
      .reply(200, { total_count: 1, check_runs: [{ id: 72, status: "in_progress", conclusion: null }] });
    scope.patch(`${REPO_PATH}/check-runs/72`).reply(200, { id: 72, status: "in_progress", conclusion: null });
    const outcome = await runUpsertCheckRun(input({}, makePipelineTask("running"), { attempt: 2 }));
    expect(outcome.checkRun).toEqual({ id: 72, sha: HEAD });
  });

  it("does nothing without a PR or a SHA", async () => {
    expect(await runUpsertCheckRun(input({}, makePipelineTask("preparing", { prNumber: null })))).toEqual({
      evidence: {},
    });
    expect(await runUpsertCheckRun(input({}, makePipelineTask("running", { headSha: null, baseSha: null })))).toEqual({
      evidence: {},
    });
  });
});

describe("runPostReview", () => {
  const payload = {
    prNumber: 9,
    commitSha: HEAD,
    marker: "foreman:review:job-4",
    body: "Looks right.",
    comments: [{ path: "src/a.ts", line: 3, body: "nit" }],
  };

  it("posts a COMMENT review and records it", async () => {
    scope
      .post(`${REPO_PATH}/pulls/9/reviews`, {
        commit_id: HEAD,
        event: "COMMENT",
        body: "<!-- foreman:review:job-4 -->\nLooks right.",
        comments: [{ path: "src/a.ts", line: 3, side: "RIGHT", body: "nit" }],
      })
      .reply(200, { id: 801 });
    expect(await runPostReview(input(payload, makePipelineTask("running")))).toEqual({
      evidence: { prNumber: 9, reviewId: 801, commitSha: HEAD, inline: 1, created: true },
    });
  });

  it("on a retry adopts the review already posted", async () => {
    scope
      .get(`${REPO_PATH}/pulls/9/reviews`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 801, body: "<!-- foreman:review:job-4 -->\nLooks right." }]);
    expect(await runPostReview(input(payload, makePipelineTask("running"), { attempt: 2 }))).toEqual({
      evidence: { prNumber: 9, reviewId: 801, commitSha: HEAD, inline: null, created: false },
    });
  });
});

describe("runRequestReviewers", () => {
  it("requests the reviewers and records whom", async () => {
    scope.post(`${REPO_PATH}/pulls/9/requested_reviewers`, { reviewers: ["bob"], team_reviewers: [] }).reply(201, {});
    expect(
      await runRequestReviewers(
        input({ prNumber: 9, users: ["bob"], teams: [] }, makePipelineTask("ready_for_review")),
      ),
    ).toEqual({
      evidence: { prNumber: 9, users: ["bob"], teams: [], requested: true },
    });
  });

  it("skips when nobody is configured", async () => {
    expect(
      await runRequestReviewers(input({ prNumber: 9, users: [], teams: [] }, makePipelineTask("ready_for_review"))),
    ).toEqual({
      evidence: { prNumber: 9, users: [], teams: [], requested: false },
    });
  });
});

describe("runCollectCiResult", () => {
  it("feeds the verdict back with the failures, and records the suites", async () => {
    const task = makePipelineTask("awaiting_ci");
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-suites`)
      .query({ per_page: "100" })
      .reply(200, {
        total_count: 2,
        check_suites: [
          { id: 1, app: { slug: "github-actions" }, status: "completed", conclusion: "failure" },
          { id: 2, app: { slug: "other" }, status: "queued", conclusion: null },
        ],
      });
    scope
      .get(`${REPO_PATH}/check-suites/1/check-runs`)
      .query({ filter: "latest", per_page: "100" })
      .reply(200, {
        total_count: 1,
        check_runs: [
          {
            id: 501,
            name: "test",
            conclusion: "failure",
            app: { slug: "github-actions" },
            output: { title: "Tests failed", summary: null, text: null, annotations_count: 0 },
          },
        ],
      });
    scope.get(`${REPO_PATH}/actions/jobs/501/logs`).reply(200, "FAIL login\n", { "content-type": "text/plain" });
    // The default settings read the statuses and the default branch's rules too: none here.
    scope.get(`${REPO_PATH}/commits/${HEAD}/status`).query({ per_page: "100" }).reply(200, { statuses: [] });
    scope.get(`${REPO_PATH}/rules/branches/main`).query({ per_page: "100" }).reply(200, []);
    scope.get(`${REPO_PATH}/branches/main`).reply(200, { name: "main", protected: false });

    const outcome = await runCollectCiResult(input({ sha: HEAD, suiteId: 1, apps: ["github-actions"] }, task));

    expect(outcome.event).toEqual({
      type: "ci_result_collected",
      taskId: task.id,
      sha: HEAD,
      verdict: "failure",
      failures: [{ name: "test", summary: "Tests failed", logTail: "FAIL login", source: "check_run" }],
    });
    expect(outcome.evidence).toEqual({
      sha: HEAD,
      suiteId: 1,
      verdict: "failure",
      rule: "counted",
      required: [],
      statuses: [],
      suites: [
        { id: 1, app: "github-actions", status: "completed", conclusion: "failure", counted: true },
        { id: 2, app: "other", status: "queued", conclusion: null, counted: false },
      ],
      failing: ["test"],
    });
  });
});

describe("runRemoveLabel", () => {
  it("takes the label off, and a label already gone counts as removed (a second run changes nothing)", async () => {
    const task = makePipelineTask("awaiting_agent");
    scope.delete(`${REPO_PATH}/issues/7/labels/${encodeURIComponent("needs-human-review")}`).reply(200, []);
    scope
      .delete(`${REPO_PATH}/issues/7/labels/${encodeURIComponent("needs-human-review")}`)
      .reply(404, { message: "Label does not exist" });
    const payload = { issueNumber: 7, label: "needs-human-review" };
    expect((await runRemoveLabel(input(payload, task))).evidence).toEqual({
      issueNumber: 7,
      label: "needs-human-review",
      removed: true,
    });
    expect((await runRemoveLabel(input(payload, task, { attempt: 2 }))).evidence).toEqual({
      issueNumber: 7,
      label: "needs-human-review",
      removed: false,
    });
  });

  it("any other error fails the effect (it is retried)", async () => {
    scope
      .delete(`${REPO_PATH}/issues/7/labels/${encodeURIComponent("needs-human-review")}`)
      .reply(500, { message: "boom" });
    await expect(
      runRemoveLabel(input({ issueNumber: 7, label: "needs-human-review" }, makePipelineTask("awaiting_agent"))),
    ).rejects.toMatchObject({ status: 500 });
  });
});
