import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import { markReadyAndDraw, type MarkReadyAndDrawParams } from "../../../src/github/mark-ready-and-draw.js";
import type { CheckRunView } from "../../../src/github/render-check-run.js";
import { API, REPO_PATH, buildTestOctokit } from "./pipeline-fixtures.js";

// The ready-time writes in one GraphQL request (ADR 0017): the PR out of draft, the status comment
// and the check run redrawn, each as its own mutation of one document.

let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

const VIEW: CheckRunView = {
  status: "completed",
  conclusion: "success",
  detailsUrl: "https://foreman.example.com/api/compliance/tasks/t1",
  title: "Ready for review",
  summary: "All steps done.",
};

const PARAMS: MarkReadyAndDrawParams = {
  owner: "acme",
  repo: "api",
  prNumber: 9,
  statusComment: { id: 501, body: "<!-- foreman:status -->\n### 👀 Ready" },
  checkRun: { id: 70, view: VIEW },
};

const ALL_THREE = `mutation ($ready: MarkPullRequestReadyForReviewInput!, $comment: UpdateIssueCommentInput!, $checkRun: UpdateCheckRunInput!) {
  ready: markPullRequestReadyForReview(input: $ready) { pullRequest { isDraft } }
  comment: updateIssueComment(input: $comment) { issueComment { id } }
  checkRun: updateCheckRun(input: $checkRun) { checkRun { status conclusion } }
}`;

const COMMENT_INPUT = { id: "IC_501", body: "<!-- foreman:status -->\n### 👀 Ready" };
const CHECK_RUN_INPUT = {
  checkRunId: "CR_70",
  repositoryId: "R_10",
  status: "COMPLETED",
  conclusion: "SUCCESS",
  detailsUrl: "https://foreman.example.com/api/compliance/tasks/t1",
  output: { title: "Ready for review", summary: "All steps done." },
};

/** The one request of all three mutations, with the exact document and inputs. */
function expectAllThree(): nock.Interceptor {
  return scope.post("/graphql", {
    query: ALL_THREE,
    variables: { ready: { pullRequestId: "PR_9" }, comment: COMMENT_INPUT, checkRun: CHECK_RUN_INPUT },
  });
}

function readPull(draft: boolean) {
  scope
    .get(`${REPO_PATH}/pulls/9`)
    .reply(200, { number: 9, draft, node_id: "PR_9", base: { repo: { node_id: "R_10" } } });
}

function readSurfaces(
  run: { status: string; conclusion: string | null } = { status: "in_progress", conclusion: null },
) {
  scope.get(`${REPO_PATH}/issues/comments/501`).reply(200, { id: 501, node_id: "IC_501" });
  scope.get(`${REPO_PATH}/check-runs/70`).reply(200, { id: 70, node_id: "CR_70", ...run });
}

describe("markReadyAndDraw", () => {
  it("marks the draft PR ready and redraws both surfaces in one request", async () => {
    readPull(true);
    readSurfaces();
    expectAllThree().reply(200, {
      data: {
        ready: { pullRequest: { isDraft: false } },
        comment: { issueComment: { id: "IC_501" } },
        checkRun: { checkRun: { status: "COMPLETED", conclusion: "SUCCESS" } },
      },
    });
    expect(await markReadyAndDraw(buildTestOctokit(), PARAMS)).toEqual({
      alreadyReady: false,
      drewStatusComment: true,
      drewCheckRun: true,
      skipped: [],
    });
  });

  it("on an already-ready PR (a retry) does not mark it again but still draws", async () => {
    readPull(false);
    readSurfaces({ status: "completed", conclusion: "success" });
    scope
      .post("/graphql", {
        query: `mutation ($comment: UpdateIssueCommentInput!, $checkRun: UpdateCheckRunInput!) {
  comment: updateIssueComment(input: $comment) { issueComment { id } }
  checkRun: updateCheckRun(input: $checkRun) { checkRun { status conclusion } }
}`,
        variables: { comment: COMMENT_INPUT, checkRun: CHECK_RUN_INPUT },
      })
      .reply(200, {
        data: {
          comment: { issueComment: { id: "IC_501" } },
          checkRun: { checkRun: { status: "COMPLETED", conclusion: "SUCCESS" } },
        },
      });
    expect(await markReadyAndDraw(buildTestOctokit(), PARAMS)).toMatchObject({
      alreadyReady: true,
      drewStatusComment: true,
      drewCheckRun: true,
    });
  });

  it("draws only what exists: no status comment id, no check run, an already-ready PR send nothing", async () => {
    readPull(false);
    expect(await markReadyAndDraw(buildTestOctokit(), { ...PARAMS, statusComment: null, checkRun: null })).toEqual({
      alreadyReady: true,
      drewStatusComment: false,
      drewCheckRun: false,
      skipped: [],
    });
  });

  it("leaves out a deleted comment and a run completed with another conclusion, for their REST redraws", async () => {
    readPull(true);
    scope.get(`${REPO_PATH}/issues/comments/501`).reply(404, { message: "Not Found" });
    scope
      .get(`${REPO_PATH}/check-runs/70`)
      .reply(200, { id: 70, node_id: "CR_70", status: "completed", conclusion: "neutral" });
    scope
      .post("/graphql", {
        query: `mutation ($ready: MarkPullRequestReadyForReviewInput!) {
  ready: markPullRequestReadyForReview(input: $ready) { pullRequest { isDraft } }
}`,
        variables: { ready: { pullRequestId: "PR_9" } },
      })
      .reply(200, { data: { ready: { pullRequest: { isDraft: false } } } });
    expect(await markReadyAndDraw(buildTestOctokit(), PARAMS)).toEqual({
      alreadyReady: false,
      drewStatusComment: false,
      drewCheckRun: false,
      skipped: ["status comment not found", "check run completed with another conclusion"],
    });
  });

  it("keeps what a partly failed batch did: the PR ready, the comment drawn, the vanished run left to its redraw", async () => {
    readPull(true);
    readSurfaces();
    expectAllThree().reply(200, {
      data: {
        ready: { pullRequest: { isDraft: false } },
        comment: { issueComment: { id: "IC_501" } },
        checkRun: null,
      },
      errors: [
        {
          type: "NOT_FOUND",
          path: ["checkRun"],
          message: "Could not resolve to a node with the global id of 'CR_70'",
        },
      ],
    });
    expect(await markReadyAndDraw(buildTestOctokit(), PARAMS)).toEqual({
      alreadyReady: false,
      drewStatusComment: true,
      drewCheckRun: false,
      skipped: [
        "GraphQL NOT_FOUND: Could not resolve to a node with the global id of 'CR_70'",
        "check run not updated",
      ],
    });
  });

  it("marks the PR ready alone when the batch did nothing (refused whole), drawing nothing", async () => {
    readPull(true);
    readSurfaces();
    expectAllThree().reply(200, { errors: [{ message: "Field 'updateCheckRun' doesn't exist on type 'Mutation'" }] });
    // The fallback: the PR read again (still a draft), then the one mutation of before.
    readPull(true);
    scope
      .post("/graphql", {
        query: `mutation ($pullRequestId: ID!) {
  markPullRequestReadyForReview(input: { pullRequestId: $pullRequestId }) {
    pullRequest { isDraft }
  }
}`,
        variables: { pullRequestId: "PR_9" },
      })
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
    expect(await markReadyAndDraw(buildTestOctokit(), PARAMS)).toEqual({
      alreadyReady: false,
      drewStatusComment: false,
      drewCheckRun: false,
      skipped: [
        "GraphQL error: Field 'updateCheckRun' doesn't exist on type 'Mutation'",
        "status comment not updated",
        "check run not updated",
        "marked ready alone",
      ],
    });
  });

  it("fails the attempt on a 502 without sending the batch again (the engine retries the effect)", async () => {
    readPull(true);
    readSurfaces();
    scope.post("/graphql").reply(502, { message: "Bad Gateway" });
    await expect(markReadyAndDraw(buildTestOctokit(), PARAMS)).rejects.toMatchObject({ status: 502 });
  });
});
