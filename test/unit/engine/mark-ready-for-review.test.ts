import { createHash } from "node:crypto";
import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import type { EffectInput } from "../../../src/engine/effects/effect-outcome.js";
import { runMarkReadyForReview } from "../../../src/engine/effects/mark-ready-for-review.js";
import { renderTaskCheckRun, renderTaskStatusComment } from "../../../src/engine/effects/render-task-surfaces.js";
import type { Task } from "../../../src/workflow/task.js";
import { API, HEAD, REPO_PATH, buildTestOctokit, makePipelineTask } from "../github/pipeline-fixtures.js";

// The ready effect draws what goReady's redraws would, from the task as stored, in its one request.

const PUBLIC_URL = "https://foreman.example.com";
const latestHash = "f".repeat(64);
const facts = { jobs: [], queuePosition: null, latestRecordHash: latestHash };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

type Payload = { prNumber: number; note?: string };

function input(task: Task, overrides: Partial<EffectInput<Payload>> = {}): EffectInput<Payload> {
  return {
    payload: { prNumber: 9 },
    task,
    octokit: buildTestOctokit(),
    attempt: 1,
    statusCommentId: 501,
    webBaseUrl: "https://github.com",
    checkRun: { id: 70, sha: HEAD },
    publicUrl: PUBLIC_URL,
    facts,
    ...overrides,
  };
}

function readPull(draft: boolean) {
  scope
    .get(`${REPO_PATH}/pulls/9`)
    .reply(200, { number: 9, draft, node_id: "PR_9", base: { repo: { node_id: "R_10" } } });
}

describe("runMarkReadyForReview", () => {
  it("marks the PR ready and draws the ready status comment and check run in one request, saying what it drew", async () => {
    const task = makePipelineTask("ready_for_review");
    const body = renderTaskStatusComment(task, facts, "https://github.com");
    const { view } = renderTaskCheckRun({ ...task, prNumber: 9 }, facts, {
      publicUrl: PUBLIC_URL,
      webBaseUrl: "https://github.com",
    });
    readPull(true);
    scope.get(`${REPO_PATH}/issues/comments/501`).reply(200, { id: 501, node_id: "IC_501" });
    scope
      .get(`${REPO_PATH}/check-runs/70`)
      .reply(200, { id: 70, node_id: "CR_70", status: "in_progress", conclusion: null });
    scope
      .post("/graphql", {
        query: `mutation ($ready: MarkPullRequestReadyForReviewInput!, $comment: UpdateIssueCommentInput!, $checkRun: UpdateCheckRunInput!) {
  ready: markPullRequestReadyForReview(input: $ready) { pullRequest { isDraft } }
  comment: updateIssueComment(input: $comment) { issueComment { id } }
  checkRun: updateCheckRun(input: $checkRun) { checkRun { status conclusion } }
}`,
        variables: {
          ready: { pullRequestId: "PR_9" },
          comment: { id: "IC_501", body },
          checkRun: {
            checkRunId: "CR_70",
            repositoryId: "R_10",
            status: "COMPLETED",
            conclusion: "SUCCESS",
            detailsUrl: `${PUBLIC_URL}/api/compliance/tasks/${task.id}`,
            output: { title: view.title, summary: view.summary },
          },
        },
      })
      .reply(200, {
        data: {
          ready: { pullRequest: { isDraft: false } },
          comment: { issueComment: { id: "IC_501" } },
          checkRun: { checkRun: { status: "COMPLETED", conclusion: "SUCCESS" } },
        },
      });

    expect(await runMarkReadyForReview(input(task))).toEqual({
      drawn: ["upsert_status_comment", "upsert_check_run"],
      evidence: {
        prNumber: 9,
        alreadyReady: false,
        statusComment: { commentId: 501, state: "ready_for_review", bodySha256: sha256(body) },
        checkRun: {
          checkRunId: 70,
          sha: HEAD,
          status: "completed",
          conclusion: "success",
          recordHash: latestHash,
          summarySha256: sha256(view.summary),
        },
      },
    });
  });

  it("with no status comment id and a run on an earlier head, marks the PR ready alone and leaves both to their redraws", async () => {
    readPull(true);
    scope
      .post("/graphql", {
        query: `mutation ($ready: MarkPullRequestReadyForReviewInput!) {
  ready: markPullRequestReadyForReview(input: $ready) { pullRequest { isDraft } }
}`,
        variables: { ready: { pullRequestId: "PR_9" } },
      })
      .reply(200, { data: { ready: { pullRequest: { isDraft: false } } } });
    const outcome = await runMarkReadyForReview(
      input(makePipelineTask("ready_for_review"), { statusCommentId: null, checkRun: { id: 69, sha: "c".repeat(40) } }),
    );
    expect(outcome).toEqual({ evidence: { prNumber: 9, alreadyReady: false } });
  });

  it("records that the PR was already ready, and posts the note (ready without CI) once", async () => {
    readPull(false);
    scope
      .post(`${REPO_PATH}/issues/9/comments`, (sent: { body: string }) => sent.body.includes("No CI"))
      .reply(201, {
        id: 950,
      });
    const outcome = await runMarkReadyForReview(
      input(makePipelineTask("ready_for_review"), {
        payload: { prNumber: 9, note: "No CI reported." },
        statusCommentId: null,
        checkRun: null,
      }),
    );
    expect(outcome).toEqual({ evidence: { prNumber: 9, alreadyReady: true, noteCommentId: 950 } });
  });
});
