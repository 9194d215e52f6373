import { mkdirSync } from "node:fs";
import Docker from "dockerode";
import nock from "nock";
import type { BrowserContext, Page } from "playwright-core";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  buildLoopConfig,
  labelIssue,
  listRunningContainers,
  mockLoopGitHub,
  ROLE_SCRIPTS,
  useLoopForeman,
  waitForRunningStep,
} from "../../helpers/loop-harness.js";
import { findPauseSetting } from "../../../src/db/queries/find-pause-setting.js";
import { REPO } from "../../helpers/github-mock.js";
import { INSTALLATION_ID } from "../../helpers/payloads.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image
import { launchChromium } from "./chromium.js"; // fails the file, saying how to install it, without Chromium

// The dashboard in a real Chromium against a Foreman filled by a real task run (busybox script
// agents, strict simulated GitHub). The browser talks to Foreman only: GitHub's authorize page is
// answered by the test (a redirect back with a code), and Foreman's own calls to github.com and
// api.github.com go to nock.

const OPERATOR = "octo-operator";
const AUDITOR = "audrey";
const SCREENSHOTS = new URL("../../../docs/screenshots/", import.meta.url).pathname;

const loop = useLoopForeman({
  idPrefix: "d5000000",
  server: true,
  env: {
    // The callback URL is then the address the browser used (http://localhost:<port>).
    PUBLIC_URL: undefined,
    GITHUB_CLIENT_ID: "Iv1.dashboardtest",
    GITHUB_CLIENT_SECRET: "dashboard-client-secret",
    UI_SESSION_SECRET: "a-session-secret-of-forty-characters-long",
    UI_OPERATORS: OPERATOR,
    UI_AUDITORS: "acme/auditors",
  },
});
const TASK = loop.id(1);

/**
 * A reviewer that says a line, waits for a file in its /tmp (`/tmp/more`), says another, then waits
 * until the test lets it go (`/tmp/go`), then reviews. The test makes the files by a signal (the
 * Engine's kill call: USR2 for `more`, USR1 for `go`), not by an exec, whose hijacked stream could
 * end in EPIPE when the whole suite ran.
 */
const HELD_REVIEWER = [
  "trap 'touch /tmp/go' USR1",
  "trap 'touch /tmp/more' USR2",
  "echo 'reviewer: reading the change'",
  "while [ ! -f /tmp/more ]; do sleep 0.1; done",
  "echo 'reviewer: still reading'",
  "while [ ! -f /tmp/go ]; do sleep 0.1; done",
  ROLE_SCRIPTS.reviewer,
].join("; ");

let context: BrowserContext;
let page: Page;
let problems: string[];
/** Refusals (HTTP 403) a test provokes on purpose, which Chromium logs as console errors. */
let refusalsExpected = 0;
let base: string;

beforeEach(async () => {
  await loop.foreman.server.start();
  base = `http://localhost:${loop.foreman.server.port}`;
  context = await launchChromium();
  problems = [];
  refusalsExpected = 0;
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    if (refusalsExpected > 0 && message.text().includes("status of 403")) refusalsExpected -= 1;
    else problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  // Only Foreman, and GitHub's authorize page, which the test answers itself.
  await context.route("**/*", async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === base) return route.continue();
    if (url.origin === "https://github.com" && url.pathname === "/login/oauth/authorize") {
      const back = new URL(url.searchParams.get("redirect_uri")!);
      back.searchParams.set("code", `code-for-${signingIn}`);
      back.searchParams.set("state", url.searchParams.get("state")!);
      return route.fulfill({ status: 302, headers: { location: back.toString() } });
    }
    problems.push(`the browser tried to reach ${url.origin}`);
    return route.abort();
  });
});

afterEach(async () => {
  await context?.close();
  expect(problems).toEqual([]);
});

let signingIn = "";

/** Foreman's side of signing in `login`: the code exchange, the user, the repositories, the auditors' team. */
function mockSignIn(login: string, options: { auditor?: boolean } = {}) {
  const token = `gho_token_for_${login}`;
  nock("https://github.com")
    .post(
      "/login/oauth/access_token",
      (body: Record<string, string>) =>
        body.code === `code-for-${login}` &&
        body.client_id === "Iv1.dashboardtest" &&
        body.client_secret === "dashboard-client-secret" &&
        body.redirect_uri === `${base}/ui/auth/callback`,
    )
    .reply(200, { access_token: token, token_type: "bearer", scope: "" });
  const api = nock("https://api.github.com", { reqheaders: { authorization: `Bearer ${token}` } });
  api.get("/user").reply(200, { login, id: 1 });
  api
    .get("/user/installations")
    .query({ per_page: "100", page: "1" })
    .reply(200, { total_count: 1, installations: [{ id: INSTALLATION_ID }] });
  api
    .get(`/user/installations/${INSTALLATION_ID}/repositories`)
    .query({ per_page: "100", page: "1" })
    .reply(200, { total_count: 1, repositories: [{ id: REPO.id, full_name: `${REPO.owner}/${REPO.name}` }] });
  api
    .get(`/orgs/acme/teams/auditors/memberships/${login}`)
    .reply(
      options.auditor ? 200 : 404,
      options.auditor ? { state: "active", role: "member" } : { message: "Not Found" },
    );
}

/** Sign in through the dashboard's button, landing on the board. */
async function signIn(login: string, options: { auditor?: boolean } = {}) {
  mockSignIn(login, options);
  signingIn = login;
  await page.goto(`${base}/ui/`);
  await expect.poll(() => page.getByRole("heading", { name: "Sign in" }).count()).toBe(1);
  await page.getByRole("link", { name: "Sign in with GitHub" }).click();
  await page.waitForURL(`${base}/ui/`);
  await page.getByRole("heading", { name: "Board" }).waitFor();
  expect(await page.locator("header .who span").textContent()).toContain(login);
}

/** Every control on the page has an accessible name (an unnamed one shows as a bare role in the ARIA snapshot). */
async function expectNamedControls() {
  const snapshot = await page.locator("body").ariaSnapshot();
  expect(
    snapshot.split("\n").filter((line) => /^\s*- (button|link|textbox|checkbox|combobox)\s*(\[.*\])?:?\s*$/.test(line)),
  ).toEqual([]);
}

async function screenshot(name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/** Tell the held reviewer to go on: a file in its /tmp (`more`: its second line; `go`: its review). */
async function releaseReviewer(file: "more" | "go" = "go") {
  const [container] = await listRunningContainers(loop.foreman, TASK);
  await new Docker().getContainer(container!.Id).kill({ signal: file === "go" ? "SIGUSR1" : "SIGUSR2" });
}

describe("the dashboard in a real browser", () => {
  test("sign in with GitHub; the board, the queue and a task page whose reviewer log arrives live; KPIs", async () => {
    const github = mockLoopGitHub(
      buildLoopConfig({ pipeline: ["coder", "reviewer"], reviewer: HELD_REVIEWER }),
    ).draftPr();
    await github.stepReads("plan-sha");
    github.push("plan-sha", "code-sha");
    await github.stepReads("code-sha");
    github.diff("code-sha").review();
    await labelIssue(loop.foreman);
    await waitForRunningStep(loop, TASK, "reviewer");

    await signIn(OPERATOR);
    const running = page.getByRole("region", { name: /^running/ });
    await expect.poll(() => running.getByRole("link", { name: "Codertocat/Hello-World#1" }).count()).toBe(1);
    await expectNamedControls();
    await screenshot("board");

    await page.getByRole("link", { name: "Queue" }).click();
    const runningJobs = page.getByRole("region", { name: "Running (1)" });
    expect(await runningJobs.getByRole("cell", { name: "reviewer", exact: true }).count()).toBe(1);
    await expectNamedControls();
    await screenshot("queue");

    await page.goto(`${base}/ui/tasks/${TASK}`);
    const coderLog = page.getByRole("list", { name: "Log of the coder step", exact: true });
    expect(await coderLog.count()).toBe(1);
    expect(await page.getByRole("list", { name: "Log of the reviewer step", exact: true }).count()).toBe(0);
    expect(await page.locator("#task-state").textContent()).toContain("running");
    // The page is open while the reviewer's container runs: its lines arrive live, without a reload.
    const liveLog = page.getByRole("list", { name: "Live log of the reviewer step" });
    await liveLog.getByText("reviewer: reading the change").waitFor({ timeout: 30_000 });
    await releaseReviewer("more");
    await liveLog.getByText("reviewer: still reading").waitFor({ timeout: 30_000 });
    // Still running: the line came from the container's followed output, not from the stored log.
    expect(await listRunningContainers(loop.foreman, TASK)).toHaveLength(1);
    expect((await loop.database.sql`select status, log from agent_jobs where role = 'reviewer'`)[0]).toEqual({
      status: "running",
      log: null,
    });
    // The reviewer finishes; its stored log replaces the live lines.
    await releaseReviewer();
    const reviewerLog = page.getByRole("list", { name: "Log of the reviewer step", exact: true });
    await reviewerLog.waitFor({ timeout: 30_000 });
    expect(await reviewerLog.textContent()).toContain("reviewer: still reading");
    expect(await liveLog.count()).toBe(0);
    await loop.foreman.settle();
    await page.locator("#task-state", { hasText: "awaiting_ci" }).waitFor({ timeout: 30_000 });
    expect(await page.locator("#timeline").textContent()).toContain("agent_job.finished");
    expect(await page.locator("#verify-result").textContent()).toContain("ok");
    // The static sections are drawn with the page: reload for the review. No planner in this pipeline.
    await page.reload();
    expect(await page.getByRole("region", { name: "Plan" }).textContent()).toContain("No plan.");
    expect(await page.getByRole("region", { name: "Reviews" }).textContent()).toContain("The change is right.");
    await expectNamedControls();
    await screenshot("task");

    await page.getByRole("link", { name: "KPIs" }).click();
    await page.locator('#kpi-chart[data-drawn="1"] canvas').waitFor();
    expect(await page.getByRole("table", { name: "Tasks per day" }).getByRole("row").count()).toBe(2);
    await screenshot("kpis");

    await page.getByRole("link", { name: "Reviews" }).click();
    await page.getByRole("heading", { name: "Pull requests waiting for review" }).waitFor();
    await screenshot("reviews");
  });

  test("an operator pauses and resumes from the settings page, each a compliance record naming them; a POST without the session's token is refused", async () => {
    await signIn(OPERATOR);
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByRole("textbox", { name: "Reason" }).fill("incident 42");
    await page.getByRole("button", { name: "Pause Foreman" }).click();
    await page.getByRole("status").filter({ hasText: "Foreman is paused." }).waitFor();
    expect(await page.locator("#pause-state").textContent()).toContain(`Paused by github:${OPERATOR}`);
    expect(await findPauseSetting(loop.database.sql)).toMatchObject({
      paused: true,
      by: `github:${OPERATOR}`,
      reason: "incident 42",
    });
    await expectNamedControls();
    await screenshot("settings");

    refusalsExpected = 1;
    const forged = await page.evaluate(async () => {
      const response = await fetch("/ui/settings/resume", { method: "POST", body: new URLSearchParams({}) });
      return response.status;
    });
    expect(forged).toBe(403);

    await page.getByRole("button", { name: "Resume Foreman" }).click();
    await page.getByRole("status").filter({ hasText: "Foreman resumed." }).waitFor();
    const records = await loop.database
      .sql`select kind, actor, payload from compliance_records where task_id is null order by seq`;
    expect(records.map((record) => ({ ...record }))).toEqual([
      { kind: "system.paused", actor: `github:${OPERATOR}`, payload: { reason: "incident 42", via: "dashboard" } },
      { kind: "system.resumed", actor: `github:${OPERATOR}`, payload: { reason: null, via: "dashboard" } },
    ]);

    await page.getByRole("link", { name: "Compliance" }).click();
    expect(await page.locator("#chain-length").textContent()).toBe("2 records");
    await page.getByRole("button", { name: "Verify the chain now" }).click();
    await page.locator("#last-verify", { hasText: `ok: 2 records, by ${OPERATOR}` }).waitFor();
    await expectNamedControls();
    await screenshot("compliance");
  });

  test("an auditor sees the compliance status but cannot pause: no button, and the action is refused", async () => {
    await signIn(AUDITOR, { auditor: true });
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByText("Only operators (UI_OPERATORS) may pause or resume Foreman.").waitFor();
    expect(await page.getByRole("button", { name: "Pause Foreman" }).count()).toBe(0);
    refusalsExpected = 1;
    // The token the page carries, sent by a forged form post: the role, not the token, refuses it.
    const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
    const status = await page.evaluate(async (token) => {
      const response = await fetch("/ui/settings/pause", {
        method: "POST",
        body: new URLSearchParams({ _csrf: token }),
      });
      return response.status;
    }, csrf);
    expect(status).toBe(403);
    expect((await loop.database.sql`select count(*)::int as n from system_settings`)[0]!.n).toBe(0);
    await page.getByRole("link", { name: "Compliance" }).click();
    expect(await page.locator("#chain-length").textContent()).toBe("0 records");
  });
});
