import nock from "nock";
import { beforeEach, describe, expect, it } from "vitest";
import { buildLogTail, collectCiResult } from "../../../src/github/collect-ci-result.js";
import { API, HEAD, REPO_PATH, buildTestOctokit } from "./pipeline-fixtures.js";

const LOGS_HOST = "https://productionresultssa0.blob.core.windows.net";
// The suites alone decide here (no statuses counted, no required checks); those are tested below.
const params = {
  owner: "acme",
  repo: "api",
  sha: HEAD,
  apps: ["github-actions", "circleci-checks"],
  statuses: [] as string[],
  requiredOnly: false,
  baseBranch: "main",
};

function suite(id: number, app: string, status: string, conclusion: string | null) {
  return { id, app: { slug: app }, status, conclusion, head_sha: HEAD };
}

function run(
  id: number,
  app: string,
  conclusion: string,
  output: Partial<{
    title: string | null;
    summary: string | null;
    text: string | null;
    annotations_count: number;
  }> = {},
) {
  return {
    id,
    name: `job-${id}`,
    status: "completed",
    conclusion,
    app: { slug: app },
    output: { title: null, summary: null, text: null, annotations_count: 0, ...output },
  };
}

function mockSuites(suites: unknown[]): void {
  scope
    .get(`${REPO_PATH}/commits/${HEAD}/check-suites`)
    .query({ per_page: "100" })
    .reply(200, { total_count: suites.length, check_suites: suites });
}

function mockRuns(suiteId: number, runs: unknown[]): void {
  scope
    .get(`${REPO_PATH}/check-suites/${suiteId}/check-runs`)
    .query({ filter: "latest", per_page: "100" })
    .reply(200, { total_count: runs.length, check_runs: runs });
}

// A log of 100 timestamped, coloured lines, as Actions serves it.
const LOG = `\uFEFF${Array.from({ length: 100 }, (_, i) => `2026-11-20T12:00:${String(i % 60).padStart(2, "0")}.1234567Z \u001b[31mline ${i + 1}\u001b[0m`).join("\r\n")}\r\n`;

let scope: nock.Scope;

beforeEach(() => {
  scope = nock(API);
});

describe("collectCiResult", () => {
  it("is pending while no suite of a CI app exists, and records the others", async () => {
    mockSuites([suite(1, "dependabot", "completed", "failure")]);
    expect(await collectCiResult(buildTestOctokit(), params)).toEqual({
      verdict: "pending",
      failures: [],
      suites: [{ id: 1, app: "dependabot", status: "completed", conclusion: "failure", counted: false }],
      statuses: [],
      required: [],
      rule: "counted",
    });
  });

  it("is pending while any CI suite is not completed, even when another already failed", async () => {
    mockSuites([suite(1, "github-actions", "completed", "failure"), suite(2, "github-actions", "in_progress", null)]);
    expect(await collectCiResult(buildTestOctokit(), params)).toMatchObject({ verdict: "pending", failures: [] });
  });

  it("is a success when every CI suite passed (success, neutral, skipped), whatever other apps said", async () => {
    mockSuites([
      suite(1, "github-actions", "completed", "success"),
      suite(2, "github-actions", "completed", "skipped"),
      suite(3, "circleci-checks", "completed", "neutral"),
      suite(4, "some-linter", "completed", "failure"),
    ]);
    expect(await collectCiResult(buildTestOctokit(), params)).toMatchObject({ verdict: "success", failures: [] });
  });

  it("describes each failing check of a failed CI: output, annotations and the Actions log tail", async () => {
    mockSuites([
      suite(1, "github-actions", "completed", "failure"),
      suite(2, "circleci-checks", "completed", "timed_out"),
      suite(3, "github-actions", "completed", "success"),
    ]);
    mockRuns(1, [
      run(501, "github-actions", "failure", { title: "Tests failed", summary: "2 of 40 failed", annotations_count: 2 }),
      run(502, "github-actions", "success"),
      run(503, "github-actions", "cancelled"),
    ]);
    scope
      .get(`${REPO_PATH}/check-runs/501/annotations`)
      .query({ per_page: "20" })
      .reply(200, [
        { path: "test/login.test.ts", start_line: 14, message: "expected 302, got 200" },
        { path: ".github", start_line: 1, message: "Process completed with exit code 1." },
      ]);
    // GitHub answers with a redirect to the log's storage.
    scope.get(`${REPO_PATH}/actions/jobs/501/logs`).reply(302, "", { location: `${LOGS_HOST}/logs/501.txt?sig=abc` });
    nock(LOGS_HOST)
      .get("/logs/501.txt")
      .query({ sig: "abc" })
      .reply(200, LOG, { "content-type": "text/plain; charset=utf-8" });
    scope.get(`${REPO_PATH}/actions/jobs/503/logs`).reply(404, { message: "Not Found" });
    mockRuns(2, [run(601, "circleci-checks", "timed_out", { title: "build", text: "t".repeat(10_000) })]);

    const result = await collectCiResult(buildTestOctokit(), params);

    expect(result.verdict).toBe("failure");
    expect(result.failures.map((failure) => failure.name)).toEqual(["job-501", "job-503", "job-601"]);
    expect(result.failures[0]).toEqual({
      name: "job-501",
      summary:
        "Tests failed\n\n2 of 40 failed\n\ntest/login.test.ts:14 — expected 302, got 200\n.github:1 — Process completed with exit code 1.",
      logTail: Array.from({ length: 80 }, (_, i) => `line ${i + 21}`).join("\n"),
      source: "check_run",
    });
    expect(result.failures[1]).toEqual({ name: "job-503", summary: "", logTail: "", source: "check_run" });
    // Not an Actions run: no log request; the text is capped.
    expect(result.failures[2]?.logTail).toBe("");
    expect(result.failures[2]?.summary.startsWith("build\n\nttt")).toBe(true);
    expect(result.failures[2]?.summary.endsWith("\n… (cut)")).toBe(true);
    expect(Buffer.byteLength(result.failures[2]?.summary ?? "")).toBeLessThanOrEqual(4 * 1024 + 16);
  });

  it("tolerates 403 on the log (the app may not read Actions)", async () => {
    mockSuites([suite(1, "github-actions", "completed", "failure")]);
    mockRuns(1, [run(501, "github-actions", "failure", { title: "Tests failed" })]);
    scope.get(`${REPO_PATH}/actions/jobs/501/logs`).reply(403, { message: "Resource not accessible by integration" });
    expect(await collectCiResult(buildTestOctokit(), params)).toMatchObject({
      verdict: "failure",
      failures: [{ name: "job-501", summary: "Tests failed", logTail: "" }],
    });
  });

  it("streams a long log through a small window and keeps its last 80 lines", async () => {
    mockSuites([suite(1, "github-actions", "completed", "failure")]);
    mockRuns(1, [run(501, "github-actions", "failure")]);
    const long = Array.from({ length: 20_000 }, (_, i) => `2026-11-20T12:00:00.0000000Z step output ${i + 1}`).join(
      "\n",
    );
    scope.get(`${REPO_PATH}/actions/jobs/501/logs`).reply(200, long, { "content-type": "text/plain" });
    const { failures } = await collectCiResult(buildTestOctokit(), params);
    expect(failures[0]?.logTail).toBe(Array.from({ length: 80 }, (_, i) => `step output ${i + 19_921}`).join("\n"));
  });

  it("fails on other errors reading the log, so the effect is retried", async () => {
    mockSuites([suite(1, "github-actions", "completed", "failure")]);
    mockRuns(1, [run(501, "github-actions", "failure")]);
    scope.get(`${REPO_PATH}/actions/jobs/501/logs`).reply(500, { message: "boom" });
    await expect(collectCiResult(buildTestOctokit(), params)).rejects.toMatchObject({ status: 500 });
  });

  it("describes at most 10 failures and caps each summary at 8 KB", async () => {
    mockSuites([suite(2, "circleci-checks", "completed", "failure")]);
    mockRuns(
      2,
      Array.from({ length: 12 }, (_, i) =>
        run(700 + i, "circleci-checks", "failure", { title: "x", summary: "s".repeat(20_000) }),
      ),
    );
    const { failures } = await collectCiResult(buildTestOctokit(), params);
    expect(failures).toHaveLength(10);
    for (const failure of failures) expect(Buffer.byteLength(failure.summary)).toBeLessThanOrEqual(8 * 1024);
  });
});

describe("buildLogTail", () => {
  it("keeps at most 8 KB, starting at a whole line", () => {
    const raw = Array.from({ length: 80 }, (_, i) => `${i}:${"é".repeat(200)}`).join("\n");
    const tail = buildLogTail(raw);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(8 * 1024);
    expect(tail.split("\n")[0]).toMatch(/^\d+:é+$/);
    expect(tail.endsWith(`79:${"é".repeat(200)}`)).toBe(true);
  });

  it("cuts one huge line without a broken character", () => {
    const tail = buildLogTail("é".repeat(10_000));
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(8 * 1024);
    expect(tail).toMatch(/^é+$/);
  });
});

describe("collectCiResult: commit statuses and the branch's required checks", () => {
  const withStatuses = { ...params, statuses: ["ci/jenkins/*"], requiredOnly: true };

  function mockStatuses(
    statuses: Array<{ context: string; state: string; description?: string; target_url?: string }>,
  ) {
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/status`)
      .query({ per_page: "100" })
      .reply(200, {
        state: "pending",
        statuses: statuses.map((status) => ({ description: null, target_url: null, ...status })),
      });
  }
  function mockRules(required: string[], options: { protection?: string[]; rulesStatus?: number } = {}) {
    scope
      .get(`${REPO_PATH}/rules/branches/main`)
      .query({ per_page: "100" })
      .reply(
        options.rulesStatus ?? 200,
        options.rulesStatus === 404
          ? { message: "Not Found" }
          : required.length === 0
            ? []
            : [
                { type: "pull_request", parameters: {} },
                {
                  type: "required_status_checks",
                  parameters: { required_status_checks: required.map((context) => ({ context })) },
                },
              ],
      );
    scope.get(`${REPO_PATH}/branches/main`).reply(200, {
      name: "main",
      protected: options.protection !== undefined,
      protection: options.protection
        ? {
            enabled: true,
            required_status_checks: { enforcement_level: "everyone", contexts: options.protection, checks: [] },
          }
        : { enabled: false, required_status_checks: { enforcement_level: "off", contexts: [], checks: [] } },
    });
  }
  function mockRunsForRef(runs: unknown[]) {
    scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-runs`)
      .query({ filter: "latest", per_page: "100" })
      .reply(200, { total_count: runs.length, check_runs: runs });
  }

  it("a Jenkins status counts as CI when no check is required: red with its description and link, then green", async () => {
    mockSuites([]);
    mockStatuses([
      {
        context: "ci/jenkins/pr-head",
        state: "failure",
        description: "Build #12 failed",
        target_url: "https://jenkins.example/job/12",
      },
      { context: "netlify/deploy-preview", state: "pending" },
    ]);
    mockRules([]);
    const red = await collectCiResult(buildTestOctokit(), withStatuses);
    expect(red).toMatchObject({ verdict: "failure", rule: "counted", required: [] });
    expect(red.failures).toEqual([
      {
        name: "ci/jenkins/pr-head",
        summary:
          "Commit status `ci/jenkins/pr-head`: failure.\nBuild #12 failed\nDetails: https://jenkins.example/job/12",
        logTail: "",
        source: "status",
      },
    ]);
    // The preview's status is not counted (`ci.statuses`): it is recorded and blocks nothing.
    expect(red.statuses).toEqual([
      { context: "ci/jenkins/pr-head", state: "failure", counted: true },
      { context: "netlify/deploy-preview", state: "pending", counted: false },
    ]);

    mockSuites([]);
    mockStatuses([{ context: "ci/jenkins/pr-head", state: "success" }]);
    mockRules([]);
    expect(await collectCiResult(buildTestOctokit(), withStatuses)).toMatchObject({ verdict: "success", failures: [] });
  });

  it("a counted status still pending keeps CI pending", async () => {
    mockSuites([suite(1, "github-actions", "completed", "success")]);
    mockStatuses([{ context: "ci/jenkins/pr-head", state: "pending" }]);
    mockRules([]);
    expect(await collectCiResult(buildTestOctokit(), withStatuses)).toMatchObject({ verdict: "pending" });
  });

  it("when a ruleset requires one of two check runs, the optional one failing does not block", async () => {
    mockSuites([suite(7, "github-actions", "completed", "failure")]);
    mockStatuses([]);
    mockRules(["build"]);
    mockRunsForRef(
      [run(71, "github-actions", "success"), run(72, "github-actions", "failure")].map((r, i) => ({
        ...r,
        name: i === 0 ? "build" : "lint",
      })),
    );
    const result = await collectCiResult(buildTestOctokit(), withStatuses);
    expect(result).toMatchObject({ verdict: "success", failures: [], rule: "required", required: ["build"] });
  });

  it("a required check that failed is red at once, and only it goes to the ci_fixer", async () => {
    mockSuites([suite(7, "github-actions", "in_progress", null)]);
    mockStatuses([{ context: "ci/jenkins/pr-head", state: "pending" }]);
    // Rulesets and classic protection add up.
    mockRules(["build"], { protection: ["ci/jenkins/pr-head"] });
    mockRunsForRef([{ ...run(71, "github-actions", "failure", { title: "2 tests failed" }), name: "build" }]);
    scope.get(`${REPO_PATH}/actions/jobs/71/logs`).reply(404, { message: "Not Found" });
    const result = await collectCiResult(buildTestOctokit(), withStatuses);
    expect(result).toMatchObject({ verdict: "failure", rule: "required", required: ["build", "ci/jenkins/pr-head"] });
    expect(result.failures.map((failure) => [failure.name, failure.source])).toEqual([["build", "check_run"]]);
  });

  it("a required check that has not reported keeps CI pending, even when everything else is green", async () => {
    mockSuites([suite(7, "github-actions", "completed", "success")]);
    mockStatuses([]);
    mockRules(["deploy/staging"]);
    mockRunsForRef([{ ...run(71, "github-actions", "success"), name: "build" }]);
    expect(await collectCiResult(buildTestOctokit(), withStatuses)).toMatchObject({
      verdict: "pending",
      rule: "required",
    });
  });

  it("rules that cannot be read (404) count as none, and `requiredOnly: false` never reads them", async () => {
    mockSuites([suite(1, "github-actions", "completed", "success")]);
    mockStatuses([]);
    mockRules([], { rulesStatus: 404 });
    expect(await collectCiResult(buildTestOctokit(), withStatuses)).toMatchObject({
      verdict: "success",
      rule: "counted",
    });

    mockSuites([suite(1, "github-actions", "completed", "success")]);
    mockStatuses([]);
    expect(await collectCiResult(buildTestOctokit(), { ...withStatuses, requiredOnly: false })).toMatchObject({
      verdict: "success",
      rule: "counted",
      required: [],
    });
  });
});
