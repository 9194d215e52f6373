import nock from "nock";
import { describe, expect, it } from "vitest";
import { requestReviewers } from "../../../src/github/request-reviewers.js";
import { API, REPO_PATH, buildTestOctokit } from "./pipeline-fixtures.js";

describe("requestReviewers", () => {
  it("asks the configured users and teams", async () => {
    nock(API)
      .post(`${REPO_PATH}/pulls/9/requested_reviewers`, { reviewers: ["bob"], team_reviewers: ["backend"] })
      .reply(201, { number: 9 });
    expect(
      await requestReviewers(buildTestOctokit(), {
        owner: "acme",
        repo: "api",
        prNumber: 9,
        users: ["bob"],
        teams: ["backend"],
      }),
    ).toEqual({ requested: true });
  });

  it("makes no request when nobody is configured", async () => {
    expect(
      await requestReviewers(buildTestOctokit(), { owner: "acme", repo: "api", prNumber: 9, users: [], teams: [] }),
    ).toEqual({ requested: false });
  });
});
