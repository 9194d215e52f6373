import pino from "pino";
import { Probot } from "probot";
import { describe, expect, test } from "vitest";
import { CircuitOpenError, classifyError } from "../../src/resilience/errors.js";
import { CircuitBreakers } from "../../src/resilience/circuit-breaker.js";
import { buildOctokitClass, type GitHubClient, type OctokitTuning } from "../../src/github/octokit.js";
import { mockGitHub, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { INSTALLATION_ID } from "../helpers/payloads.js";
import { TEST_PRIVATE_KEY } from "../helpers/test-foreman.js";

// A real installation client (Probot's auth, our Octokit class) against strict nock: an unmocked
// request fails the test, so "no HTTP request" is checked by nock itself. The breaker runs on a fake clock.

const ISSUE = `${REPO_PATH}/issues/1`;
const NO_RETRIES: OctokitTuning = { retries: 0, retryAfterBaseValue: 1, throttle: false };

async function buildInstallationClient(tuning: OctokitTuning = NO_RETRIES) {
  const clock = { now: 1_000_000 };
  const breakers = new CircuitBreakers({ service: "GitHub", now: () => clock.now });
  const probot = new Probot({
    appId: 12345,
    privateKey: TEST_PRIVATE_KEY,
    log: pino({ level: "silent" }),
    Octokit: buildOctokitClass(tuning, { timeoutMs: 30_000, breakers }),
  });
  const octokit = (await probot.auth(INSTALLATION_ID)) as GitHubClient;
  const getIssue = () => octokit.rest.issues.get({ owner: REPO.owner, repo: REPO.name, issue_number: 1 });
  return { clock, octokit, getIssue };
}

describe("GitHub circuit breaker per installation", () => {
  test("5 × 500 open it; the 6th call fails with CIRCUIT_OPEN without a request; after 60 s one probe goes out and a 200 closes it", async () => {
    const { clock, getIssue } = await buildInstallationClient();
    const github = mockGitHub().token();
    github.scope.get(ISSUE).times(5).reply(500, { message: "Server Error" });
    for (let i = 0; i < 5; i += 1) await expect(getIssue()).rejects.toMatchObject({ status: 500 });

    const open = await getIssue().catch((error: unknown) => error);
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect(classifyError(open)).toMatchObject({ code: "CIRCUIT_OPEN", retryable: true });
    clock.now += 59_999;
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(github.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      `POST /app/installations/${INSTALLATION_ID}/access_tokens`,
      ...Array<string>(5).fill(`GET ${ISSUE}`),
    ]);

    // Half-open: the probe is held at GitHub's end while another call is refused at ours.
    clock.now += 1;
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const probeArrived = new Promise<void>((resolve) => github.scope.once("request", () => resolve()));
    github.scope.get(ISSUE).reply(() => answered.then(() => [200, { number: 1 }]));
    const probe = getIssue();
    await probeArrived;
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
    answer();
    await expect(probe).resolves.toMatchObject({ status: 200, data: { number: 1 } });

    // Closed: calls go through again.
    github.scope.get(ISSUE).reply(200, { number: 1 });
    await expect(getIssue()).resolves.toMatchObject({ status: 200 });
    expect(github.requests).toHaveLength(8);
  });

  test("a failed probe opens it for another 60 s", async () => {
    const { clock, getIssue } = await buildInstallationClient();
    const github = mockGitHub().token();
    github.scope.get(ISSUE).times(6).reply(502, { message: "Bad Gateway" });
    for (let i = 0; i < 5; i += 1) await expect(getIssue()).rejects.toMatchObject({ status: 502 });
    clock.now += 60_000;
    await expect(getIssue()).rejects.toMatchObject({ status: 502 });
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
    clock.now += 60_000;
    github.scope.get(ISSUE).reply(200, { number: 1 });
    await expect(getIssue()).resolves.toMatchObject({ status: 200 });
  });

  test("the installation token a probe needs is fetched inside the probe, not refused as a second call", async () => {
    const { clock, getIssue } = await buildInstallationClient();
    const github = mockGitHub();
    github.scope
      .post(`/app/installations/${INSTALLATION_ID}/access_tokens`)
      .times(5)
      .reply(500, { message: "Server Error" });
    for (let i = 0; i < 5; i += 1) await expect(getIssue()).rejects.toMatchObject({ status: 500 });
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
    clock.now += 60_000;
    github.token();
    github.scope.get(ISSUE).reply(200, { number: 1 });
    await expect(getIssue()).resolves.toMatchObject({ status: 200 });
  });

  test("404 and 422 are answers, not outages: they never open it", async () => {
    const { getIssue, octokit } = await buildInstallationClient();
    const github = mockGitHub().token();
    github.scope.get(ISSUE).times(5).reply(404, { message: "Not Found" });
    github.scope.post(`${REPO_PATH}/git/refs`).times(5).reply(422, { message: "Reference already exists" });
    github.scope.get(ISSUE).reply(200, { number: 1 });
    for (let i = 0; i < 5; i += 1) await expect(getIssue()).rejects.toMatchObject({ status: 404 });
    for (let i = 0; i < 5; i += 1)
      await expect(
        octokit.rest.git.createRef({ owner: REPO.owner, repo: REPO.name, ref: "refs/heads/x", sha: "abc" }),
      ).rejects.toMatchObject({ status: 422 });
    await expect(getIssue()).resolves.toMatchObject({ status: 200 });
  });

  test("GraphQL goes through the same breaker", async () => {
    const { getIssue, octokit } = await buildInstallationClient();
    const github = mockGitHub().token();
    github.scope.post("/graphql").times(5).reply(503, { message: "Service Unavailable" });
    for (let i = 0; i < 5; i += 1)
      await expect(octokit.graphql("query { viewer { login } }")).rejects.toMatchObject({ status: 503 });
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
  });

  test("each HTTP attempt counts: in-process retries stop at the open circuit instead of hammering GitHub", async () => {
    const { getIssue } = await buildInstallationClient({ retries: 9, retryAfterBaseValue: 0, throttle: false });
    const github = mockGitHub().token();
    github.scope.get(ISSUE).times(5).reply(500, { message: "Server Error" });
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(github.requests.filter((request) => request.path === ISSUE)).toHaveLength(5);
  });

  test("installations have their own breakers", async () => {
    const { getIssue } = await buildInstallationClient();
    const github = mockGitHub().token();
    github.scope.get(ISSUE).times(5).reply(500, { message: "Server Error" });
    for (let i = 0; i < 5; i += 1) await expect(getIssue()).rejects.toMatchObject({ status: 500 });
    await expect(getIssue()).rejects.toBeInstanceOf(CircuitOpenError);
    // Another client class, another registry: a fresh breaker (a new Foreman starts closed too).
    const other = await buildInstallationClient();
    github.token();
    github.scope.get(ISSUE).reply(200, { number: 1 });
    await expect(other.getIssue()).resolves.toMatchObject({ status: 200 });
  });
});
