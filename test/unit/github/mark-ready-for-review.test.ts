import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import { markReadyForReview } from "../../../src/github/mark-ready-for-review.js";
import { API, REPO_PATH, buildTestOctokit } from "./pipeline-fixtures.js";

let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

describe("markReadyForReview", () => {
  it("takes a draft PR out of draft with the GraphQL mutation (REST cannot)", async () => {
    scope.get(`${REPO_PATH}/pulls/9`).reply(200, { number: 9, draft: true, node_id: "PR_kwDOAbc123" });
    scope
      .post(
        "/graphql",
        (body: { query: string; variables: unknown }) =>
          /markPullRequestReadyForReview\(input: \{ pullRequestId: \$pullRequestId \}\)/.test(body.query) &&
          JSON.stringify(body.variables) === JSON.stringify({ pullRequestId: "PR_kwDOAbc123" }),
      )
      .reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
    expect(await markReadyForReview(buildTestOctokit(), { owner: "acme", repo: "api", prNumber: 9 })).toEqual({
      alreadyReady: false,
    });
  });

  it("does nothing when the PR is already ready (a retry, or a human was faster)", async () => {
    scope.get(`${REPO_PATH}/pulls/9`).reply(200, { number: 9, draft: false, node_id: "PR_kwDOAbc123" });
    expect(await markReadyForReview(buildTestOctokit(), { owner: "acme", repo: "api", prNumber: 9 })).toEqual({
      alreadyReady: true,
    });
  });
});
