import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import Docker from "dockerode";
import nock from "nock";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { TEST_IMAGE } from "../integration/agents/docker-available.js";
import { buildRepoTarball } from "../integration/agents/repo-tarball.js";
import { mockGitHub, REPO, REPO_PATH } from "./github-mock.js";
import { buildCheckSuitePayload, buildIssueCommentPayload } from "./more-payloads.js";
import { buildIssuesPayload } from "./payloads.js";
import type { Database } from "../../src/db/client.js";
import { createTestDatabase, resetTables, type TestDatabase } from "./test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "./test-foreman.js";

// The whole loop with real containers: each role is a busybox script agent that behaves like the
// role (a planner writes a plan, a coder edits a file, a reviewer reviews), GitHub is strict nock.

/** The task branch of issue 1 ("Spelling error in the README file"). */
export const LOOP_BRANCH = "agent/1-spelling-error-in-the-readme-file";
/** The draft PR number the simulated GitHub gives. */
export const LOOP_PR = 7;

/** The test app's slug (`GET /app`): its pushes are reported as `foreman-tests[bot]`'s. */
export const LOOP_APP_SLUG = "foreman-tests";
const GET_REF_PATH = `${REPO_PATH}/git/ref/${encodeURIComponent(`heads/${LOOP_BRANCH}`)}`;
/** The label Foreman puts on the PR when it asks a human (the default `freezeLabel`). */
const ESCALATION_LABEL = "needs-human-review";

/** Writes result.json from a JSON literal. */
const result = (json: Record<string, unknown>) =>
  `printf '%s' '${JSON.stringify(json).replace(/'/g, "'\\''")}' > /foreman/out/result.json`;

/** Scripts that behave like each role. */
export const ROLE_SCRIPTS = {
  planner: result({
    status: "success",
    summary: "Planned the fix.",
    body: "1. Fix the spelling of 'the' in README.md.\n2. Nothing else.",
  }),
  coder: `cd /workspace && printf 'The README.\\n' > README.md && ${result({ status: "success", summary: "Fixed the spelling in README.md.", title: "Fix README spelling" })}`,
  reviewer: result({
    status: "success",
    summary: "The change is right.",
    review: { body: "Fixes the typo and nothing else. Looks good." },
  }),
  reviewerNeedsChanges: result({
    status: "needs_changes",
    summary: "Add a trailing note.",
    review: { body: "Please also add a note line to README.md." },
  }),
  fixer: `cd /workspace && printf 'The README.\\nFixed for CI.\\n' > README.md && ${result({ status: "success", summary: "Made the lint check pass." })}`,
} as const;

/** A `.github/foreman.yml` with one script profile per role. */
export function buildLoopConfig(
  options: { reviewer?: string; pipeline?: string[]; extra?: string[]; reviewers?: string[] } = {},
): string {
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

/** A loop test file's database and Foreman (a fresh one per test), read in a test or a hook. */
export interface LoopForeman {
  readonly database: TestDatabase;
  readonly foreman: TestForeman;
  readonly artifactsDir: string;
  /** The `n`-th id this file's Foreman gives out (tasks, jobs, …), as in `id(1)` for the first task. */
  id(n: number): string;
  /** `text` with this run's ids written as every run's (`<idPrefix>-0000-4000-8000-…`), for snapshots. */
  stable(text: string): string;
}

/**
 * Registers the hooks of a loop test file: its own database (created once, emptied before each
 * test), and before each test a Foreman with agents on, a fresh artifacts dir and workspace, and
 * ids of the file's own: `<idPrefix>-<run>-4000-8000-000000000001`, … (UUIDs, as the tables want).
 * Container names carry the job id, so two test files whose jobs had the same sequential ids would
 * collide in Docker ("container name already in use") when they run at the same time: give each file
 * a distinct prefix. `<run>` is random per run of the file, for two runs of the suite on one Docker
 * host (two engineers, two CI jobs): their containers would collide the same way, and a Foreman's
 * start-up recovery removes the containers of job ids its database knows (`loop.stable` writes ids
 * as `<idPrefix>-0000-…` for snapshots). After each test Foreman is stopped, and a request no GitHub
 * mock answered fails the test (Foreman takes the 501 as a failed effect, which a test might not
 * notice otherwise); a failed test prints Foreman's warnings and errors. `server: true` gives
 * Foreman's HTTP server port 0 on 127.0.0.1: `foreman.server.start()` binds a port the system picks,
 * and `foreman.server.port` says which.
 */
export function useLoopForeman(options: {
  idPrefix: string;
  /** Overrides of the test environment; `undefined` unsets a variable (e.g. PUBLIC_URL). */
  env?: Record<string, string | undefined>;
  server?: boolean;
}): LoopForeman {
  if (!/^[0-9a-f]{8}$/.test(options.idPrefix))
    throw new Error(`idPrefix must be 8 hex digits (the first group of a UUID), not ${options.idPrefix}`);
  const run = randomBytes(2).toString("hex");
  const id = (n: number) => `${options.idPrefix}-${run}-4000-8000-${String(n).padStart(12, "0")}`;
  let database: TestDatabase | undefined;
  let started: { foreman: TestForeman; artifactsDir: string } | undefined;
  const unmatched: string[] = [];
  const onNoMatch = (request: Request) => {
    const url = new URL(request.url);
    if (url.hostname === "api.github.com")
      unmatched.push(`${request.method} ${decodeURIComponent(url.pathname + url.search)}`);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    nock.emitter.on("no match", onNoMatch);
  });
  afterAll(async () => {
    nock.emitter.off("no match", onNoMatch);
    await database?.drop();
  });
  beforeEach(async () => {
    unmatched.length = 0;
    await resetTables(database!);
    const artifactsDir = mkdtempSync(join(tmpdir(), "foreman-artifacts-"));
    const env = buildTestEnv({
      ARTIFACTS_DIR: artifactsDir,
      AGENT_IMAGE_ALLOWLIST: "foreman-test/*",
      // buildLoopConfig's busybox script profiles are the repository's own (image and command).
      REPO_PROFILE_OVERRIDES: "image,command",
      WORKSPACE_DIR: mkdtempSync(join(tmpdir(), "foreman-ws-")),
      PUBLIC_URL: "https://foreman.example.test",
      ...(options.server ? { HOST: "127.0.0.1", PORT: "0" } : {}),
      ...options.env,
    });
    const foreman = await startTestForeman(database!, { env, agents: true });
    let next = 0;
    foreman.deps.newId = () => id(++next);
    started = { foreman, artifactsDir };
  });
  afterEach(async (context) => {
    const foreman = started?.foreman;
    started = undefined;
    await foreman?.stop();
    // What went wrong inside Foreman (failed effects, events, jobs) says more than the assertion.
    if (context.task.result?.state === "fail") {
      for (const line of foreman?.logs.filter((entry) => /"level":(40|50|60)/.test(entry)) ?? [])
        console.error(line.trimEnd());
    }
    if (unmatched.length > 0) {
      // A hook that throws skips the hooks after it, among them the strict check of
      // test/helpers/setup.ts: clean up as it does and report its finding too, or this test's unused
      // mocks would answer the next test's requests.
      const pending = nock.pendingMocks();
      nock.cleanAll();
      const unused = pending.length > 0 ? `\nunused GitHub mocks:\n  ${pending.join("\n  ")}` : "";
      throw new Error(`requests no GitHub mock answered:\n  ${unmatched.join("\n  ")}${unused}`);
    }
  });

  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} exists only inside a test of a file that calls useLoopForeman`);
    return value;
  };
  return {
    get database() {
      return need(database, "the loop database");
    },
    get foreman() {
      return need(started, "the loop Foreman").foreman;
    },
    get artifactsDir() {
      return need(started, "the loop Foreman").artifactsDir;
    },
    id,
    stable: (text) => text.replaceAll(`${options.idPrefix}-${run}-4000-8000-`, `${options.idPrefix}-0000-4000-8000-`),
  };
}

/** What `mockGitHub` gives a loop mock, for the helpers below. */
type GitHubMock = ReturnType<typeof mockGitHub>;

/**
 * A strict simulated GitHub for the loop, with helpers for each phase. Every request is declared
 * on the strict scope exactly as often as Foreman makes it (`.times(n)`, or one interceptor
 * answering a queue), except what `mockRedraws` puts on the display scope.
 */
export function mockLoopGitHub(config: string) {
  const github = mockGitHub().token();
  const { scope } = github;
  return {
    ...github,
    /** `login`'s role on the repository, read `times` times. */
    permission(login: string, role: "write" | "read", times = 1) {
      scope
        .get(`${REPO_PATH}/collaborators/${login}/permission`)
        .times(times)
        .reply(200, { permission: role, role_name: role, user: { login } });
      return this;
    },
    /** Label → draft PR #7 with the status comment, each read and write once; redraws and the issue's reads as `mockRedraws`. */
    draftPr() {
      this.permission("Codertocat", "write");
      github
        .config(config)
        .branch("base-sha", "base-tree-sha")
        .planCommit("plan-sha")
        .createRef()
        .pull(LOOP_PR)
        .labels(LOOP_PR)
        .createComment(1);
      mockRedraws(github);
      return this;
    },
    /** What the host reads to render a step's prompt and build its workspace at `sha`, for `times` steps that start there. */
    async stepReads(sha: string, options: { times?: number; files?: Record<string, string> } = {}) {
      const files = options.files ?? { "README.md": "Teh README.\n" };
      await this.stepReadsInTurn(
        sha,
        Array.from({ length: options.times ?? 1 }, () => files),
      );
      return this;
    },
    /**
     * What steps read at `sha`, answered with each file set in turn: a step that runs again on the
     * same commit (after a freeze, a pause, a retry) sees the next set. One interceptor per path.
     */
    async stepReadsInTurn(sha: string, fileSets: Array<Record<string, string>>) {
      const trees = fileSets.map((files) => ({
        sha: `${sha}-tree`,
        truncated: false,
        tree: Object.keys(files).map((path) => ({ path, type: "blob", mode: "100644", sha: `${path}-blob` })),
      }));
      const tarballs = await Promise.all(fileSets.map((files) => buildRepoTarball(files)));
      scope
        .get(`${REPO_PATH}/git/trees/${sha}`)
        .query({ recursive: "true" })
        .times(fileSets.length)
        .reply(200, () => trees.shift());
      scope
        .get(`${REPO_PATH}/tarball/${sha}`)
        .times(fileSets.length)
        .reply(200, () => tarballs.shift(), { "content-type": "application/x-gzip" });
      return this;
    },
    /** The reviewer's diff of the work so far, read by `times` reviewer runs. */
    diff(head: string, times = 1) {
      scope
        .get(`${REPO_PATH}/compare/${encodeURIComponent(`base-sha...${head}`)}`)
        .times(times)
        .reply(200, "diff --git a/README.md b/README.md\n-Teh README.\n+The README.\n");
      return this;
    },
    /**
     * One verified commit on top of `parent`: `createCommitOnBranch`, compare-and-swap on `parent`
     * (the agents here write regular files only). Declare the pushes of a test in the order they
     * happen: the branch's ref is answered by the first unused declaration. The ref is read once by
     * the push; `refReads: 2` when a retried task adopted the branch before. `whileWriting` runs
     * after GitHub has made the commit and before Foreman hears the answer (the window in which
     * GitHub's `synchronize` for it may already be delivered).
     */
    push(parent: string, commit: string, options: { refReads?: number; whileWriting?: () => Promise<void> } = {}) {
      scope
        .get(GET_REF_PATH)
        .times(options.refReads ?? 1)
        .reply(200, { ref: `refs/heads/${LOOP_BRANCH}`, object: { sha: parent } });
      scope
        .post("/graphql", (body: { query?: string; variables?: { input?: CommitOnBranchInput } }) => {
          const input = body.variables?.input;
          return (
            /createCommitOnBranch\(input: \$input\)/.test(body.query ?? "") &&
            input?.expectedHeadOid === parent &&
            input.branch.repositoryNameWithOwner === `${REPO.owner}/${REPO.name}` &&
            input.branch.branchName === LOOP_BRANCH &&
            /\nForeman-Job: \S+$/.test(input.message.body) &&
            input.fileChanges.additions.length + input.fileChanges.deletions.length > 0
          );
        })
        .reply(async () => {
          await options.whileWriting?.();
          return [
            200,
            { data: { createCommitOnBranch: { commit: { oid: commit, tree: { oid: `${commit}-tree` } } } } },
          ];
        });
      return this;
    },
    /** `GET /app`, read once: the app's slug, so Foreman knows its own bot login (`<slug>[bot]`). */
    appSlug(slug = LOOP_APP_SLUG) {
      scope.get("/app").reply(200, { id: 12345, slug, name: "Foreman (tests)" });
      return this;
    },
    /** A comment-only review. */
    review(id = 901) {
      scope.post(`${REPO_PATH}/pulls/${LOOP_PR}/reviews`).reply(200, { id });
      return this;
    },
    /**
     * CI's suites on `sha`, and (for a failure) the failing check runs of the suite; no commit
     * statuses and no required checks on the default branch (what the default settings read too).
     */
    ciVerdict(sha: string, conclusion: "success" | "failure", suiteId: number) {
      this.noStatusesOrRequiredChecks(sha);
      scope
        .get(`${REPO_PATH}/commits/${sha}/check-suites`)
        .query(true)
        .reply(200, {
          total_count: 1,
          check_suites: [
            { id: suiteId, status: "completed", conclusion, head_sha: sha, app: { slug: "github-actions", id: 15368 } },
          ],
        });
      if (conclusion === "failure") {
        scope
          .get(`${REPO_PATH}/check-suites/${suiteId}/check-runs`)
          .query(true)
          .reply(200, {
            total_count: 1,
            check_runs: [
              {
                id: suiteId * 10,
                name: "lint",
                status: "completed",
                conclusion: "failure",
                app: { slug: "github-actions" },
                output: {
                  title: "1 error",
                  summary: "README.md:2 needs a note line",
                  text: null,
                  annotations_count: 0,
                },
              },
            ],
          });
        scope.get(`${REPO_PATH}/actions/jobs/${suiteId * 10}/logs`).reply(404, { message: "Not Found" });
      }
      return this;
    },
    /** The head's commit statuses (none) and the default branch's rules and protection (none required). */
    noStatusesOrRequiredChecks(sha: string) {
      scope
        .get(`${REPO_PATH}/commits/${sha}/status`)
        .query({ per_page: "100" })
        .reply(200, { state: "pending", statuses: [] });
      scope.get(`${REPO_PATH}/rules/branches/${REPO.defaultBranch}`).query({ per_page: "100" }).reply(200, []);
      scope
        .get(`${REPO_PATH}/branches/${REPO.defaultBranch}`)
        .reply(200, { name: REPO.defaultBranch, protected: false });
      return this;
    },
    /**
     * `GET /pulls/7`, answered with each body in turn (the draft PR before ready, the merged PR at
     * merge); a body without `base` gets the repository's, as GitHub's answer has it (its node id is
     * what the ready request's check run update names).
     */
    pullReads(bodies: Array<Record<string, unknown>>) {
      const queue = bodies.map((body) => ({
        base: { ref: REPO.defaultBranch, repo: { node_id: LOOP_REPO_NODE_ID } },
        ...body,
      }));
      scope
        .get(`${REPO_PATH}/pulls/${LOOP_PR}`)
        .times(bodies.length)
        .reply(200, () => queue.shift());
      return this;
    },
    /**
     * The one GraphQL request at ready (ADR 0017): the PR out of draft, and the status comment
     * (9001) and the `foreman` check run redrawn, after the REST reads of their node ids. GitHub's
     * answer says the run took the status and conclusion sent. `checkRun: "absent"` when the task
     * has no run on the head at ready (none yet, or one on an earlier head: the redraw then creates
     * the head's run by REST).
     */
    markReady(options: { checkRun?: "drawn" | "absent" } = {}) {
      const checkRun = options.checkRun ?? "drawn";
      scope.get(`${REPO_PATH}/issues/comments/9001`).reply(200, { id: 9001, node_id: "IC_9001" });
      if (checkRun === "drawn") {
        scope.get(/\/repos\/Codertocat\/Hello-World\/check-runs\/\d+$/).reply(200, (request: Request) => {
          const id = Number(/(\d+)$/.exec(new URL(request.url).pathname)![1]);
          return { id, node_id: `CR_${id}`, status: "in_progress", conclusion: null };
        });
      }
      scope
        .post("/graphql", (body: { query?: string; variables?: ReadyBatchVariables }) => {
          const query = body.query ?? "";
          const variables = body.variables;
          const drewRun = /checkRun: updateCheckRun\(input: \$checkRun\)/.test(query);
          return (
            /ready: markPullRequestReadyForReview\(input: \$ready\)/.test(query) &&
            /comment: updateIssueComment\(input: \$comment\)/.test(query) &&
            drewRun === (checkRun === "drawn") &&
            variables?.ready?.pullRequestId === "PR_kwDOAAABc84" &&
            variables.comment?.id === "IC_9001" &&
            variables.comment.body.includes("<!-- foreman:status -->") &&
            (!drewRun ||
              (/^CR_\d+$/.test(variables.checkRun?.checkRunId ?? "") &&
                variables.checkRun?.repositoryId === LOOP_REPO_NODE_ID))
          );
        })
        .reply(200, async (request: Request) => {
          const run = ((await request.json()) as { variables: ReadyBatchVariables }).variables.checkRun;
          return {
            data: {
              ready: { pullRequest: { isDraft: false } },
              comment: { issueComment: { id: "IC_9001" } },
              ...(run ? { checkRun: { checkRun: { status: run.status, conclusion: run.conclusion ?? null } } } : {}),
            },
          };
        });
      return this;
    },
    /** `times` comments of Foreman's on the issue whose body carries `marker` (`foreman:answer:`, `foreman:refusal:`). */
    issueComments(marker: string, times = 1, id = 9100) {
      scope
        .post(`${REPO_PATH}/issues/1/comments`, (body: { body?: string }) => body.body?.includes(marker) === true)
        .times(times)
        .reply(201, { id });
      return this;
    },
    /** Escalated `times` times: the `needs-human-review` label added to the PR each time. */
    escalationLabel(times = 1) {
      scope
        .post(`${REPO_PATH}/issues/${LOOP_PR}/labels`, { labels: [ESCALATION_LABEL] })
        .times(times)
        .reply(200, [{ name: ESCALATION_LABEL }]);
      return this;
    },
    /** The escalation's comment on the PR. */
    escalationComment(id = 802) {
      scope
        .post(
          `${REPO_PATH}/issues/${LOOP_PR}/comments`,
          (body: { body?: string }) => body.body?.includes("foreman:escalated:") === true,
        )
        .reply(201, { id });
      return this;
    },
    /** Leaving `escalated`: the label comes off the PR (GitHub answers 404 when someone already took it off). */
    escalationLabelRemoved(status: 200 | 404 = 200) {
      scope
        .delete(`${REPO_PATH}/issues/${LOOP_PR}/labels/${ESCALATION_LABEL}`)
        .reply(status, status === 200 ? [] : { message: "Label does not exist" });
      return this;
    },
  };
}

/** A loop mock as `mockLoopGitHub` makes it. */
export type LoopGitHub = ReturnType<typeof mockLoopGitHub>;

/**
 * The writes whose count depends on timing, and the issue reads every step makes, on the display
 * scope (persisted and optional): status comment edits and `foreman` check runs (there is one only
 * once work is pushed; due redraws are coalesced, so how many reach GitHub depends on timing), and
 * `GET /issues/1` and its thread, which every step reads with the same answer (counting them would
 * only count the steps again). Declare a thread answer of your own first.
 */
export function mockRedraws(github: Pick<GitHubMock, "display">): void {
  let checkRunIds = 700;
  github.display.patch(`${REPO_PATH}/issues/comments/9001`).optionally().reply(200, { id: 9001 });
  github.display
    .post(`${REPO_PATH}/check-runs`)
    .optionally()
    .reply(201, () => ({ id: ++checkRunIds }));
  github.display
    .patch(/\/repos\/Codertocat\/Hello-World\/check-runs\/\d+$/)
    .optionally()
    .reply(200, { id: 701 });
  github.display
    .get(`${REPO_PATH}/issues/1`)
    .optionally()
    .reply(200, {
      number: 1,
      title: "Spelling error in the README file",
      body: "It says teh.",
      user: { login: "Codertocat" },
      labels: [],
    });
  github.display.get(`${REPO_PATH}/issues/1/comments`).query({ per_page: "100" }).optionally().reply(200, []);
}

/** The repository's GraphQL node id in the loop's simulated GitHub (the PR's `base.repo.node_id`). */
export const LOOP_REPO_NODE_ID = "R_kgDOHelloWorld";

/** The variables of the ready request (ADR 0017), as the mock checks them. */
export interface ReadyBatchVariables {
  ready?: { pullRequestId: string };
  comment?: { id: string; body: string };
  checkRun?: { checkRunId: string; repositoryId: string; status: string; conclusion?: string };
}

/** `actionWrites` of one pushed step: one `createCommitOnBranch` (the commit and the branch moved). */
export const PUSH_WRITES: readonly string[] = Object.freeze(["POST /graphql"]);

/** The variables of `createCommitOnBranch`, as the mock checks and tests read them. */
export interface CommitOnBranchInput {
  expectedHeadOid: string;
  branch: { repositoryNameWithOwner: string; branchName: string };
  message: { headline: string; body: string };
  fileChanges: { additions: { path: string; contents: string }[]; deletions: { path: string }[] };
}

/** `actionWrites` from the label to the draft PR with its status comment. */
export const DRAFT_PR_WRITES: readonly string[] = Object.freeze([
  "POST /git/commits", // the empty plan commit
  "POST /git/refs",
  "POST /pulls",
  `POST /issues/${LOOP_PR}/labels`, // the repo's PR labels
  "POST /issues/1/comments", // the status comment
]);

/** `actionWrites` of the pipeline up to the reviewer's review: label → draft PR → code → review (the plan goes into the status comment). */
export const PIPELINE_WRITES: readonly string[] = Object.freeze([
  ...DRAFT_PR_WRITES,
  ...PUSH_WRITES, // the code
  `POST /pulls/${LOOP_PR}/reviews`,
]);

/** Label the issue. */
export function labelIssue(foreman: TestForeman): Promise<void> {
  return foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
}

/** Deliver a completed check suite of GitHub Actions on the task branch. */
export function completeSuite(
  foreman: TestForeman,
  sha: string,
  conclusion: "success" | "failure",
  suiteId: number,
): Promise<void> {
  const payload = buildCheckSuitePayload({
    headBranch: LOOP_BRANCH,
    headSha: sha,
    conclusion,
    suiteId,
    app: "github-actions",
  });
  payload.repository.default_branch = REPO.defaultBranch;
  return foreman.receive("check_suite", payload);
}

/** "METHOD /path" of each write, in order. */
function describeWrites(github: Pick<GitHubMock, "writes">): string[] {
  return github.writes().map((request) => `${request.method} ${request.path.replace(REPO_PATH, "")}`);
}

/** The writes that are not redraws (status comment edits, check runs: their count depends on timing), as "METHOD /path". */
export function actionWrites(github: Pick<GitHubMock, "writes">): string[] {
  return describeWrites(github).filter(
    (write) => !/^PATCH \/issues\/comments\/\d+$/.test(write) && !write.includes("/check-runs"),
  );
}

/** Every write since the `from`-th (redraws included), as "METHOD /path". */
export function writesSince(github: Pick<GitHubMock, "writes">, from: number): string[] {
  return describeWrites(github).slice(from);
}

/** A `/foreman` command (or any comment) by a user, on the PR by default. */
export function commentAsUser(
  foreman: TestForeman,
  options: { body: string; sender: string; commentId: number; onPullRequest?: boolean },
): Promise<void> {
  const onPullRequest = options.onPullRequest ?? true;
  const payload = buildIssueCommentPayload({
    body: options.body,
    issueNumber: onPullRequest ? LOOP_PR : 1,
    onPullRequest,
    commentId: options.commentId,
    sender: options.sender,
    senderType: "User",
    title: onPullRequest ? "Fix README spelling" : "Spelling error in the README file",
  });
  return foreman.receive("issue_comment", payload);
}

/** The one task of a loop test, as stored. */
export interface LoopTask {
  state: string;
  head_sha: string | null;
  step: string | null;
  reason: { code: string; message: string } | null;
  pipeline: {
    ciAttempts: number;
    reviewRevisions: number;
    humanRevisions: number;
    purpose: string;
    steps: Array<{ role: string; purpose: string; status: string; commitSha: string | null }>;
  };
}

/** The task (the first one, when a test has several). */
export async function readLoopTask(database: Database): Promise<LoopTask> {
  const [task] =
    (await database.sql`select state, head_sha, step, reason, pipeline from tasks order by created_at limit 1`) as unknown as [
      LoopTask,
    ];
  return task;
}

/** The task's agent jobs in order: role, status, base commit and prompt. */
export async function readLoopJobs(
  database: Database,
): Promise<Array<{ role: string; status: string; base_sha: string; prompt: string | null }>> {
  return (await database.sql`select role, status, base_sha, prompt from agent_jobs order by created_at, id`) as unknown as Array<{
    role: string;
    status: string;
    base_sha: string;
    prompt: string | null;
  }>;
}

/** The agent containers of a task that this Foreman started and that still run (other test files run containers too). */
export function listRunningContainers(foreman: TestForeman, taskId: string) {
  return new Docker().listContainers({
    filters: { label: [`foreman.task=${taskId}`, `foreman.replica=${foreman.deps.replicaId}`] },
  });
}

/** Wait until the task's `role` step runs in its container and the task knows it, with every effect done. */
export async function waitForRunningStep(loop: LoopForeman, taskId: string, role: string): Promise<void> {
  await expect
    .poll(async () => (await listRunningContainers(loop.foreman, taskId)).length, { timeout: 30_000, interval: 100 })
    .toBe(1);
  await expect
    .poll(async () => (await loop.database.sql`select state, step from tasks`)[0], { timeout: 10_000 })
    .toMatchObject({ state: "running", step: role });
  await loop.foreman.worker.whenIdle();
}

/** The variables of the latest agent push (`createCommitOnBranch`), if there was one. */
export function lastPushInput(github: Pick<GitHubMock, "writes">): CommitOnBranchInput | undefined {
  const push = github
    .writes()
    .filter((request) => request.path === "/graphql" && JSON.stringify(request.body).includes("createCommitOnBranch"))
    .at(-1);
  return (push?.body as { variables?: { input?: CommitOnBranchInput } } | undefined)?.variables?.input;
}

/** The head the latest agent push was made on (`expectedHeadOid`: the new commit's parent). */
export function lastPushParent(github: Pick<GitHubMock, "writes">): string | undefined {
  return lastPushInput(github)?.expectedHeadOid;
}

/** The bodies of Foreman's writes to one path, in order. */
export function writeBodies<T = Record<string, unknown>>(
  github: Pick<GitHubMock, "writes">,
  method: string,
  path: string,
): T[] {
  return github
    .writes()
    .filter((request) => request.method === method && request.path === `${REPO_PATH}${path}`)
    .map((request) => request.body as T);
}

/** The latest body of issue 1's status comment (comment 9001), as created or edited. */
export function lastStatusComment(github: Pick<GitHubMock, "writes">): string {
  const bodies = github
    .writes()
    .filter(
      (request) =>
        request.path.endsWith("/issues/comments/9001") ||
        (request.path.endsWith("/issues/1/comments") &&
          (request.body as { body?: string }).body?.startsWith("<!-- foreman:status -->") === true),
    )
    .map((request) => (request.body as { body: string }).body);
  return bodies.at(-1) ?? "";
}
