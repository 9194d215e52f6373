import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import { upsertCheckRun, type UpsertCheckRunParams } from "../../../src/github/check-run.js";
import type { CheckRunView } from "../../../src/github/render-check-run.js";
import { API, HEAD, REPO_PATH, buildTestOctokit } from "./pipeline-fixtures.js";

const working: CheckRunView = {
  status: "in_progress",
  conclusion: null,
  detailsUrl: null,
  title: "The coder step is running",
  summary: "steps",
};
const escalated: CheckRunView = {
  status: "completed",
  conclusion: "action_required",
  detailsUrl: "https://foreman.example.com/api/compliance/tasks/t-1",
  title: "Needs a human",
  summary: "why",
};

const workingBody = { status: "in_progress", output: { title: "The coder step is running", summary: "steps" } };
const escalatedBody = {
  status: "completed",
  conclusion: "action_required",
  details_url: "https://foreman.example.com/api/compliance/tasks/t-1",
  output: { title: "Needs a human", summary: "why" },
};

function params(overrides: Partial<UpsertCheckRunParams>): UpsertCheckRunParams {
  return {
    owner: "acme",
    repo: "api",
    headSha: HEAD,
    externalId: "t-1",
    view: working,
    known: null,
    lookFirst: false,
    ...overrides,
  };
}

let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

describe("upsertCheckRun", () => {
  it("creates the `foreman` run on the head on the first try, naming its task", async () => {
    scope
      .post(`${REPO_PATH}/check-runs`, { name: "foreman", head_sha: HEAD, external_id: "t-1", ...workingBody })
      .reply(201, { id: 70, status: "in_progress", conclusion: null });
    expect(await upsertCheckRun(buildTestOctokit(), params({}))).toEqual({ id: 70, created: true, superseded: null });
  });

  it("updates the stored run when it is on the head (action_required carries a details URL)", async () => {
    scope
      .patch(`${REPO_PATH}/check-runs/70`, escalatedBody)
      .reply(200, { id: 70, status: "completed", conclusion: "action_required" });
    expect(await upsertCheckRun(buildTestOctokit(), params({ view: escalated, known: { id: 70, sha: HEAD } }))).toEqual(
      { id: 70, created: false, superseded: null },
    );
  });

  it("creates a new run when the stored one is on an older head, and completes the old one as superseded", async () => {
    scope
      .post(`${REPO_PATH}/check-runs`, { name: "foreman", head_sha: HEAD, external_id: "t-1", ...workingBody })
      .reply(201, { id: 71, status: "in_progress", conclusion: null });
    scope
      .patch(`${REPO_PATH}/check-runs/70`, {
        status: "completed",
        conclusion: "neutral",
        output: {
          title: `Superseded by ${HEAD.slice(0, 7)}`,
          summary: `The task moved on to ${HEAD}; its \`foreman\` check run is on that commit.`,
        },
      })
      .reply(200, { id: 70, status: "completed", conclusion: "neutral" });
    expect(await upsertCheckRun(buildTestOctokit(), params({ known: { id: 70, sha: "0".repeat(40) } }))).toEqual({
      id: 71,
      created: true,
      superseded: 70,
    });
  });

  it("an old run that is already completed is left as it is", async () => {
    scope.post(`${REPO_PATH}/check-runs`).reply(201, { id: 72, status: "in_progress", conclusion: null });
    scope.patch(`${REPO_PATH}/check-runs/70`).reply(422, { message: "Check run is already completed" });
    expect(await upsertCheckRun(buildTestOctokit(), params({ known: { id: 70, sha: "0".repeat(40) } }))).toEqual({
      id: 72,
      created: true,
      superseded: null,
    });
  });

  it("replaces a completed run GitHub will not reopen (a retried task going back to work)", async () => {
    scope
      .patch(`${REPO_PATH}/check-runs/70`, workingBody)
      .reply(200, { id: 70, status: "completed", conclusion: "action_required" });
    scope
      .post(`${REPO_PATH}/check-runs`, { name: "foreman", head_sha: HEAD, external_id: "t-1", ...workingBody })
      .reply(201, { id: 72, status: "in_progress", conclusion: null });
    expect(await upsertCheckRun(buildTestOctokit(), params({ known: { id: 70, sha: HEAD } }))).toEqual({
      id: 72,
      created: true,
      superseded: null,
    });
  });

  it("replaces a run when GitHub refuses the update with 422", async () => {
    scope.patch(`${REPO_PATH}/check-runs/70`, escalatedBody).reply(422, { message: "Validation Failed" });
    scope
      .post(`${REPO_PATH}/check-runs`, { name: "foreman", head_sha: HEAD, external_id: "t-1", ...escalatedBody })
      .reply(201, { id: 73, status: "completed", conclusion: "action_required" });
    expect(await upsertCheckRun(buildTestOctokit(), params({ view: escalated, known: { id: 70, sha: HEAD } }))).toEqual(
      { id: 73, created: true, superseded: null },
    );
  });

  it("on a retry adopts the open run an earlier attempt created instead of creating a second", async () => {
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ check_name: "foreman", per_page: "100" })
      .reply(200, {
        total_count: 2,
        check_runs: [
          { id: 60, status: "completed", conclusion: "action_required" },
          { id: 74, status: "in_progress", conclusion: null },
        ],
      });
    scope
      .patch(`${REPO_PATH}/check-runs/74`, workingBody)
      .reply(200, { id: 74, status: "in_progress", conclusion: null });
    expect(await upsertCheckRun(buildTestOctokit(), params({ lookFirst: true }))).toEqual({
      id: 74,
      created: false,
      superseded: null,
    });
  });

  it("on a retry adopts a completed run with the same conclusion (the first attempt's write went through)", async () => {
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ check_name: "foreman", per_page: "100" })
      .reply(200, { total_count: 1, check_runs: [{ id: 75, status: "completed", conclusion: "action_required" }] });
    scope
      .patch(`${REPO_PATH}/check-runs/75`, escalatedBody)
      .reply(200, { id: 75, status: "completed", conclusion: "action_required" });
    expect(
      await upsertCheckRun(
        buildTestOctokit(),
        params({ view: escalated, lookFirst: true, known: { id: 50, sha: "0".repeat(40) } }),
      ),
    ).toEqual({ id: 75, created: false, superseded: null });
  });

  it("on a retry creates a run when only finished runs with another conclusion exist", async () => {
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ check_name: "foreman", per_page: "100" })
      .reply(200, { total_count: 1, check_runs: [{ id: 60, status: "completed", conclusion: "success" }] });
    scope
      .post(`${REPO_PATH}/check-runs`, { name: "foreman", head_sha: HEAD, external_id: "t-1", ...escalatedBody })
      .reply(201, { id: 76, status: "completed", conclusion: "action_required" });
    expect(await upsertCheckRun(buildTestOctokit(), params({ view: escalated, lookFirst: true }))).toEqual({
      id: 76,
      created: true,
      superseded: null,
    });
  });

  it("passes other errors on", async () => {
    scope
      .patch(`${REPO_PATH}/check-runs/70`, workingBody)
      .reply(403, { message: "Resource not accessible by integration" });
    await expect(upsertCheckRun(buildTestOctokit(), params({ known: { id: 70, sha: HEAD } }))).rejects.toMatchObject({
      status: 403,
    });
  });
});
