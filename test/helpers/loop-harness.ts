import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_IMAGE } from "../integration/agents/docker-available.js";
import { buildRepoTarball } from "../integration/agents/repo-tarball.js";
import { mockGitHub, REPO, REPO_PATH } from "./github-mock.js";
import { buildCheckSuitePayload } from "./more-payloads.js";
import { buildIssuesPayload } from "./payloads.js";
import type { Database } from "../../src/db/client.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "./test-foreman.js";

// The whole loop with real containers: each role is a busybox script agent that behaves like the
// role (a planner writes a plan, a coder edits a file, a reviewer reviews), GitHub is strict nock.

/** The task branch of issue 1 ("Spelling error in the README file"). */
export const LOOP_BRANCH = "agent/1-spelling-error-in-the-readme-file";
/** The draft PR number the simulated GitHub gives. */
export const LOOP_PR = 7;
const REF_PATH = `${REPO_PATH}/git/refs/${encodeURIComponent(`heads/${LOOP_BRANCH}`)}`;
const GET_REF_PATH = `${REPO_PATH}/git/ref/${encodeURIComponent(`heads/${LOOP_BRANCH}`)}`;

/** Writes result.json from a JSON literal. */
const result = (json: Record<string, unknown>) => `printf '%s' '${JSON.stringify(json).replace(/'/g, "'\\''")}' > /foreman/out/result.json`;

/** Scripts that behave like each role. */
export const ROLE_SCRIPTS = {
  planner: result({ status: "success", summary: "Planned the fix.", body: "1. Fix the spelling of 'the' in README.md.\n2. Nothing else." }),
  coder: `cd /workspace && printf 'The README.\\n' > README.md && ${result({ status: "success", summary: "Fixed the spelling in README.md.", title: "Fix README spelling" })}`,
  reviewer: result({ status: "success", summary: "The change is right.", review: { body: "Fixes the typo and nothing else. Looks good." } }),
  reviewerNeedsChanges: result({ status: "needs_changes", summary: "Add a trailing note.", review: { body: "Please also add a note line to README.md." } }),
  fixer: `cd /workspace && printf 'The README.\\nFixed for CI.\\n' > README.md && ${result({ status: "success", summary: "Made the lint check pass." })}`,
} as const;

/** A `.github/foreman.yml` with one script profile per role. */
export function buildLoopConfig(options: { reviewer?: string; pipeline?: string[]; extra?: string[]; reviewers?: string[] } = {}): string {
  const profile = (name: string, script: string) => [
    `  ${name}:`,
    `    image: ${TEST_IMAGE}`,
    `    command: ["sh", "-c", ${JSON.stringify(script)}]`,
    "    env: []",
    "    network: none",
    "    timeoutSeconds: 60",
    "    memoryMb: 256",
  ];
  return [
    "agent: coder-script",
    ...(options.pipeline ? [`pipeline: [${options.pipeline.join(", ")}]`] : []),
    "roles:",
    "  planner: { agent: planner-script }",
    "  reviewer: { agent: reviewer-script }",
    "  ci_fixer: { agent: fixer-script }",
    ...(options.reviewers ? ["reviewers:", `  users: [${options.reviewers.join(", ")}]`] : []),
    ...(options.extra ?? []),
    "profiles:",
    ...profile("planner-script", ROLE_SCRIPTS.planner),
    ...profile("coder-script", ROLE_SCRIPTS.coder),
    ...profile("reviewer-script", options.reviewer ?? ROLE_SCRIPTS.reviewer),
    ...profile("fixer-script", ROLE_SCRIPTS.fixer),
  ].join("\n");
}

/** Start Foreman with agents on, a fresh artifacts dir and workspace. */
export async function startLoopForeman(database: Database, overrides: Record<string, string> = {}): Promise<{ foreman: TestForeman; artifactsDir: string }> {
  const artifactsDir = mkdtempSync(join(tmpdir(), "foreman-artifacts-"));
  const env = buildTestEnv({
    ARTIFACTS_DIR: artifactsDir,
    AGENT_IMAGE_ALLOWLIST: "foreman-test/*",
    WORKSPACE_DIR: mkdtempSync(join(tmpdir(), "foreman-ws-")),
    PUBLIC_URL: "https://foreman.example.test",
    ...overrides,
  });
  return { foreman: await startTestForeman(database, { env, agents: true }), artifactsDir };
}

/** A strict simulated GitHub for the loop, with helpers for each phase. */
export function mockLoopGitHub(config: string) {
  const github = mockGitHub().token();
  let checkRunIds = 500;
  const scope = github.scope;
  return {
    ...github,
    /** Label → draft PR #7 with the status comment; status comment edits and check runs are answered freely (their count depends on timing). */
    upToDraftPr() {
      github.permission("Codertocat", "write").config(config).branch("base-sha", "base-tree-sha").planCommit("plan-sha").createRef().pull(LOOP_PR).labels(LOOP_PR).createComment(1);
      scope.patch(`${REPO_PATH}/issues/comments/9001`).reply(200, { id: 9001 }).persist();
      scope.post(`${REPO_PATH}/check-runs`).reply(201, () => ({ id: ++checkRunIds })).persist();
      // Every step reads the issue and its thread (the same answer each time).
      scope.get(`${REPO_PATH}/issues/1`).reply(200, { number: 1, title: "Spelling error in the README file", body: "It says teh.", user: { login: "Codertocat" }, labels: [] }).persist();
      scope.get(`${REPO_PATH}/issues/1/comments`).query({ per_page: "100" }).reply(200, []).persist();
      scope.patch(/\/repos\/Codertocat\/Hello-World\/check-runs\/\d+$/).reply(200, { id: 501 }).persist();
      return this;
    },
    /** What the host reads to render one step's prompt and build its workspace at `sha`. */
    // Identical interceptors are declared once with a count (nock serves repeats of one path in order).
    async stepReads(sha: string, options: { times?: number; files?: Record<string, string> } = {}) {
      const files = options.files ?? { "README.md": "Teh README.\n" };
      const times = options.times ?? 1;
      scope.get(`${REPO_PATH}/git/trees/${sha}`).query({ recursive: "true" }).times(times).reply(200, {
        sha: `${sha}-tree`,
        truncated: false,
        tree: Object.keys(files).map((path) => ({ path, type: "blob", mode: "100644", sha: `${path}-blob` })),
      });
      scope.get(`${REPO_PATH}/tarball/${sha}`).times(times).reply(200, await buildRepoTarball(files), { "content-type": "application/x-gzip" });
      return this;
    },
    /** The reviewer's diff of the work so far. */
    diff(head: string) {
      scope.get(`${REPO_PATH}/compare/${encodeURIComponent(`base-sha...${head}`)}`).reply(200, "diff --git a/README.md b/README.md\n-Teh README.\n+The README.\n");
      return this;
    },
    /** One verified commit on top of `parent`, moving the branch with force: false. */
    push(parent: string, commit: string) {
      scope.get(GET_REF_PATH).reply(200, { ref: `refs/heads/${LOOP_BRANCH}`, object: { sha: parent } });
      scope.get(`${REPO_PATH}/git/commits/${parent}`).reply(200, { sha: parent, tree: { sha: `${parent}-tree` }, parents: [{ sha: "base-sha" }] });
      scope.post(`${REPO_PATH}/git/trees`, (body: { base_tree?: string }) => body.base_tree === `${parent}-tree`).reply(201, { sha: `${commit}-tree` });
      scope.post(`${REPO_PATH}/git/commits`, (body: { parents?: string[] }) => body.parents?.[0] === parent).reply(201, { sha: commit });
      scope.patch(REF_PATH, { sha: commit, force: false }).reply(200, { object: { sha: commit } });
      return this;
    },
    /** The plan posted on the PR. */
    planComment() {
      scope.post(`${REPO_PATH}/issues/${LOOP_PR}/comments`, (body: { body?: string }) => body.body?.includes("foreman:plan:") === true).reply(201, { id: 801 });
      return this;
    },
    /** A comment-only review. */
    review(id = 901) {
      scope.post(`${REPO_PATH}/pulls/${LOOP_PR}/reviews`).reply(200, { id });
      return this;
    },
    /** CI's suites on `sha`, and (for a failure) the failing check runs of the suite. */
    ciVerdict(sha: string, conclusion: "success" | "failure", suiteId: number) {
      scope.get(`${REPO_PATH}/commits/${sha}/check-suites`).query(true).reply(200, {
        total_count: 1,
        check_suites: [{ id: suiteId, status: "completed", conclusion, head_sha: sha, app: { slug: "github-actions", id: 15368 } }],
      });
      if (conclusion === "failure") {
        scope.get(`${REPO_PATH}/check-suites/${suiteId}/check-runs`).query(true).reply(200, {
          total_count: 1,
          check_runs: [{ id: suiteId * 10, name: "lint", status: "completed", conclusion: "failure", app: { slug: "github-actions" }, output: { title: "1 error", summary: "README.md:2 needs a note line", text: null, annotations_count: 0 } }],
        });
        scope.get(`${REPO_PATH}/actions/jobs/${suiteId * 10}/logs`).reply(404, { message: "Not Found" });
      }
      return this;
    },
    /** `GET /pulls/7`, answered with each body in turn (the draft PR before ready, the merged PR at merge). */
    pullReads(bodies: Array<Record<string, unknown>>) {
      const queue = [...bodies];
      scope.get(`${REPO_PATH}/pulls/${LOOP_PR}`).times(bodies.length).reply(200, () => queue.shift());
      return this;
    },
    /** The GraphQL mutation that takes the PR out of draft. */
    markReady() {
      scope.post("/graphql", (body: { query?: string }) => body.query?.includes("markPullRequestReadyForReview") === true).reply(200, { data: { markPullRequestReadyForReview: { pullRequest: { isDraft: false } } } });
      return this;
    },
  };
}

/** Label the issue. */
export function labelIssue(foreman: TestForeman): Promise<void> {
  return foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
}

/** Deliver a completed check suite of GitHub Actions on the task branch. */
export function completeSuite(foreman: TestForeman, sha: string, conclusion: "success" | "failure", suiteId: number): Promise<void> {
  const payload = buildCheckSuitePayload({ headBranch: LOOP_BRANCH, headSha: sha, conclusion, suiteId, app: "github-actions" });
  payload.repository.default_branch = REPO.defaultBranch;
  return foreman.receive("check_suite", payload);
}

/** The writes that are not redraws of the status comment or the check run (those depend on timing). */
export function actionWrites(github: { writes: ReturnType<typeof mockGitHub>["writes"] }): string[] {
  return github
    .writes()
    .filter((request) => !request.path.includes("/issues/comments/9001") && !request.path.includes("/check-runs"))
    .map((request) => `${request.method} ${request.path.replace(REPO_PATH, "")}`);
}
