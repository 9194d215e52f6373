import pino from "pino";
import { Probot } from "probot";
import { describe, expect, test } from "vitest";
import { openDatabase } from "../../src/db/client.js";
import { blockGitHubWrites } from "../../src/db/queries/block-github-writes.js";
import { reserveGitHubWrite } from "../../src/db/queries/reserve-github-write.js";
import { buildBatchMutation } from "../../src/github/mark-ready-and-draw.js";
import { buildOctokitClass, type GitHubClient } from "../../src/github/octokit.js";
import { isContentWrite, readRetryAfter, type WritePacer } from "../../src/github/write-pacer.js";
import { mockGitHub, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { INSTALLATION_ID } from "../helpers/payloads.js";
import { useTestDatabase } from "../helpers/test-database.js";
import { TEST_PRIVATE_KEY } from "../helpers/test-foreman.js";

// The pace is on the database's clock. An interval of 1000 s makes the refill between two calls
// negligible, so the waits below follow from the bucket's arithmetic, not from how fast the test runs.

const database = useTestDatabase();
const SLOW = { intervalSeconds: 1000, burst: 3 };

describe("the write pace of an installation, shared through the database", () => {
  test("a burst goes at once; the next write waits one interval; another installation has its own bucket", async () => {
    const waits: number[] = [];
    for (let i = 0; i < 5; i += 1) waits.push(await reserveGitHubWrite(database.sql, 501, SLOW));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    // Slots are handed out in turn: one interval, then two.
    expect(waits[3]).toBeGreaterThan(990);
    expect(waits[3]).toBeLessThanOrEqual(1000);
    expect(waits[4]).toBeGreaterThan(1990);
    expect(waits[4]).toBeLessThanOrEqual(2000);
    expect(await reserveGitHubWrite(database.sql, 502, SLOW)).toBe(0);
  });

  test("two replicas (two pools) draw on one bucket", async () => {
    const other = openDatabase(database.url);
    try {
      const first = await Promise.all([0, 1, 2].map(() => reserveGitHubWrite(database.sql, 503, SLOW)));
      const second = await reserveGitHubWrite(other.sql, 503, SLOW);
      expect(first).toEqual([0, 0, 0]);
      expect(second).toBeGreaterThan(990);
    } finally {
      await other.close();
    }
  });

  test("a refusal with retry-after empties the bucket until then", async () => {
    const fast = { intervalSeconds: 0.001, burst: 10 };
    expect(await reserveGitHubWrite(database.sql, 504, fast)).toBe(0);
    await blockGitHubWrites(database.sql, 504, 600);
    const wait = await reserveGitHubWrite(database.sql, 504, fast);
    expect(wait).toBeGreaterThan(590);
    expect(wait).toBeLessThanOrEqual(600);
    // The next one is held as long: nothing goes before retry-after.
    expect(await reserveGitHubWrite(database.sql, 504, fast)).toBeGreaterThan(590);
  });
});

describe("what is paced", () => {
  test("writes are non-GET requests, GraphQL mutations and not the app's own calls", () => {
    expect(isContentWrite("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")).toBe(true);
    expect(isContentWrite("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")).toBe(true);
    expect(isContentWrite("GET", "/repos/{owner}/{repo}/issues/{issue_number}")).toBe(false);
    expect(isContentWrite("POST", "/graphql", "mutation { markPullRequestReadyForReview }")).toBe(true);
    expect(isContentWrite("POST", "/graphql", "query { viewer { login } }")).toBe(false);
    // The ready request of several mutations (ADR 0017) is one request: one write slot.
    const ready = buildBatchMutation([
      {
        declaration: "$ready: MarkPullRequestReadyForReviewInput!",
        field: "ready: markPullRequestReadyForReview(input: $ready) { pullRequest { isDraft } }",
      },
      {
        declaration: "$comment: UpdateIssueCommentInput!",
        field: "comment: updateIssueComment(input: $comment) { issueComment { id } }",
      },
    ]);
    expect(isContentWrite("POST", "/graphql", ready)).toBe(true);
    expect(isContentWrite("POST", "/app/installations/1/access_tokens")).toBe(false);
  });

  test("retry-after is read from a 403 or 429 only", () => {
    expect(readRetryAfter({ status: 403, response: { headers: { "retry-after": "30" } } })).toBe(30);
    expect(readRetryAfter({ status: 429, response: { headers: { "retry-after": "5" } } })).toBe(5);
    expect(readRetryAfter({ status: 500, response: { headers: { "retry-after": "5" } } })).toBeNull();
    expect(readRetryAfter({ status: 403, response: { headers: {} } })).toBeNull();
  });

  test("an installation client waits its turn before each write, not before a read, and a refusal blocks the installation", async () => {
    const calls: string[] = [];
    const pacer: WritePacer = {
      awaitTurn: (installationId) => {
        calls.push(`turn ${installationId}`);
        return Promise.resolve(0);
      },
      block: (installationId, seconds) => {
        calls.push(`block ${installationId} ${seconds}`);
        return Promise.resolve();
      },
    };
    const probot = new Probot({
      appId: 12345,
      privateKey: TEST_PRIVATE_KEY,
      log: pino({ level: "silent" }),
      Octokit: buildOctokitClass({ retries: 0, retryAfterBaseValue: 1, throttle: false }, { timeoutMs: 30_000, pacer }),
    });
    const octokit = (await probot.auth(INSTALLATION_ID)) as GitHubClient;
    const github = mockGitHub().token();
    github.scope.get(`${REPO_PATH}/issues/1`).reply(200, { number: 1 });
    github.scope.post(`${REPO_PATH}/issues/1/comments`).reply(201, { id: 1 });
    github.scope
      .post(`${REPO_PATH}/issues/1/comments`)
      .reply(403, { message: "You have exceeded a secondary rate limit" }, { "retry-after": "42" });

    await octokit.rest.issues.get({ owner: REPO.owner, repo: REPO.name, issue_number: 1 });
    await octokit.rest.issues.createComment({ owner: REPO.owner, repo: REPO.name, issue_number: 1, body: "hi" });
    await expect(
      octokit.rest.issues.createComment({ owner: REPO.owner, repo: REPO.name, issue_number: 1, body: "again" }),
    ).rejects.toMatchObject({ status: 403 });
    expect(calls).toEqual([`turn ${INSTALLATION_ID}`, `turn ${INSTALLATION_ID}`, `block ${INSTALLATION_ID} 42`]);
  });
});
