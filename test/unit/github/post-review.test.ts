import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import { foldComments, postReview, type PostReviewParams } from "../../../src/github/post-review.js";
import { API, HEAD, REPO_PATH, buildTestOctokit } from "./pipeline-fixtures.js";

const comments = [
  { path: "src/login.ts", line: 12, body: "This redirect skips the `next` check." },
  { path: "README.md", line: 3, body: "Outdated:\nthe flag is gone." },
];

function params(overrides: Partial<PostReviewParams> = {}): PostReviewParams {
  return {
    owner: "acme",
    repo: "api",
    prNumber: 9,
    commitSha: HEAD,
    marker: "foreman:review:job-4",
    body: "Two things to fix.",
    comments,
    lookFirst: false,
    ...overrides,
  };
}

let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

describe("postReview", () => {
  it("posts a COMMENT review (never APPROVE or REQUEST_CHANGES) with inline comments on the new side", async () => {
    scope
      .post(`${REPO_PATH}/pulls/9/reviews`, {
        commit_id: HEAD,
        event: "COMMENT",
        body: "<!-- foreman:review:job-4 -->\nTwo things to fix.",
        comments: [
          { path: "src/login.ts", line: 12, side: "RIGHT", body: "This redirect skips the `next` check." },
          { path: "README.md", line: 3, side: "RIGHT", body: "Outdated:\nthe flag is gone." },
        ],
      })
      .reply(200, { id: 801 });
    expect(await postReview(buildTestOctokit(), params())).toEqual({ reviewId: 801, inline: 2, created: true });
  });

  it("posts without a comments array when there are none", async () => {
    scope
      .post(`${REPO_PATH}/pulls/9/reviews`, {
        commit_id: HEAD,
        event: "COMMENT",
        body: "<!-- foreman:review:job-4 -->\nLooks fine.",
      })
      .reply(200, { id: 802 });
    expect(await postReview(buildTestOctokit(), params({ body: "Looks fine.", comments: [] }))).toEqual({
      reviewId: 802,
      inline: 0,
      created: true,
    });
  });

  it("folds the comments into the body when GitHub refuses a line outside the diff (422)", async () => {
    scope
      .post(`${REPO_PATH}/pulls/9/reviews`, (body: { comments?: unknown[] }) => body.comments?.length === 2)
      .reply(422, { message: "Unprocessable Entity", errors: ["Line could not be resolved"] });
    scope
      .post(`${REPO_PATH}/pulls/9/reviews`, {
        commit_id: HEAD,
        event: "COMMENT",
        body: "<!-- foreman:review:job-4 -->\nTwo things to fix.\n\n- `src/login.ts:12` — This redirect skips the `next` check.\n- `README.md:3` — Outdated:\n  the flag is gone.",
      })
      .reply(200, { id: 803 });
    expect(await postReview(buildTestOctokit(), params())).toEqual({ reviewId: 803, inline: 0, created: true });
  });

  it("passes on a 422 it cannot fix by folding", async () => {
    scope.post(`${REPO_PATH}/pulls/9/reviews`).reply(422, { message: "Validation Failed" });
    await expect(postReview(buildTestOctokit(), params({ comments: [] }))).rejects.toMatchObject({ status: 422 });
  });

  it("on a retry returns the review an earlier attempt posted and writes nothing", async () => {
    scope
      .get(`${REPO_PATH}/pulls/9/reviews`)
      .query({ per_page: "100" })
      .reply(200, [
        { id: 700, body: "LGTM from a human" },
        { id: 804, body: "<!-- foreman:review:job-4 -->\nTwo things to fix." },
      ]);
    expect(await postReview(buildTestOctokit(), params({ lookFirst: true }))).toEqual({
      reviewId: 804,
      inline: null,
      created: false,
    });
  });

  it("on a retry posts when no review carries the marker", async () => {
    scope
      .get(`${REPO_PATH}/pulls/9/reviews`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 700, body: "<!-- foreman:review:job-3 -->\nolder" }]);
    scope
      .post(`${REPO_PATH}/pulls/9/reviews`, (body: { event?: string }) => body.event === "COMMENT")
      .reply(200, { id: 805 });
    expect(await postReview(buildTestOctokit(), params({ lookFirst: true }))).toEqual({
      reviewId: 805,
      inline: 2,
      created: true,
    });
  });
});

describe("foldComments", () => {
  it("leaves a body without comments alone", () => {
    expect(foldComments("Fine.", [])).toBe("Fine.");
  });
});
