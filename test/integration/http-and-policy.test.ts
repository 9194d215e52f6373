import { createHmac } from "node:crypto";
import { request } from "node:http";
import { connect } from "node:net";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { mockGitHub, mockLabelToDraftPr } from "../helpers/github-mock.js";
import { buildIssuesPayload, INSTALLATION_ID, loadExample } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, TEST_WEBHOOK_SECRET, type TestForeman } from "../helpers/test-foreman.js";

const database = useTestDatabase();
let foreman: TestForeman | null = null;

beforeEach(async () => {
  await resetTables(database);
});
afterEach(async () => {
  await foreman?.server.stop();
  await foreman?.stop();
  foreman = null;
});

async function countInbox(): Promise<number> {
  const [row] = await database.sql`select count(*)::int as count from webhook_deliveries`;
  return Number(row?.count);
}

function sign(body: string, secret = TEST_WEBHOOK_SECRET): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

describe("the HTTP surface", () => {
  // The server binds port 0 and the test reads back the port the system gave it: no race with other files.
  let port = 0;

  // node:http rather than fetch: nock's fetch interceptor cannot pass a request body through to loopback.
  function post(body: string, signature: string): Promise<{ status: number }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/github/webhooks",
          method: "POST",
          headers: {
            "content-type": "application/json",
            "x-github-event": "issues",
            "x-github-delivery": "d-http-1",
            "x-hub-signature-256": signature,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }

  test("a webhook with a bad signature is rejected and nothing is stored; a signed one is stored and acknowledged", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    await foreman.stop(); // only the intake is under test here
    await foreman.server.start();
    port = foreman.server.port;
    const body = JSON.stringify(buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 3 }));

    const forged = await post(body, sign(body, "not-the-secret"));
    expect(forged.status).toBe(400);
    expect(await countInbox()).toBe(0);

    const unsigned = await post(body, "");
    expect(unsigned.status).toBe(400);
    expect(await countInbox()).toBe(0);

    const genuine = await post(body, sign(body));
    expect(genuine.status).toBe(200);
    expect(await countInbox()).toBe(1);
  });

  test("a body over GitHub's 25 MB cap is refused with 413 before it is read, on the webhook route and every other, and the connection is closed", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    await foreman.stop();
    await foreman.server.start();
    port = foreman.server.port;
    // The client declares 400 MB and sends nothing more: the answer comes without the body, so
    // nothing was buffered (before the limit, Probot read the whole body to check its signature).
    for (const path of ["/api/github/webhooks", "/api/compliance/tasks/x", "/nowhere"]) {
      const answer = await sendHeadersOnly(port, path, { "content-length": String(400 * 1024 * 1024) });
      expect(answer.status, path).toBe(413);
      expect(JSON.parse(answer.body)).toMatchObject({ error: "payload_too_large" });
      expect(answer.closed, path).toBe(true);
    }
    // A chunked body declares no length: refused too. A malformed length is a bad request.
    expect((await sendHeadersOnly(port, "/api/github/webhooks", { "transfer-encoding": "chunked" })).status).toBe(411);
    expect((await sendHeadersOnly(port, "/api/github/webhooks", { "content-length": "12abc" })).status).toBe(400);
    expect(await countInbox()).toBe(0);
    // A webhook within the cap still goes through the signature check as before.
    const body = JSON.stringify(buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 3 }));
    expect((await post(body, sign(body))).status).toBe(200);
  });

  test("PORT=0 lets the system pick a free port, so two servers in parallel never collide", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    const second = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    try {
      await foreman.server.start();
      await second.server.start();
      // Probot reads a port of 0 as "unset" and would take 3000 for both.
      expect(foreman.server.port).not.toBe(second.server.port);
      expect(foreman.server.port).not.toBe(3000);
    } finally {
      await second.server.stop();
      await second.stop();
    }
  });

  test("health and readiness answer without GitHub", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    await foreman.server.start();
    const base = `http://127.0.0.1:${foreman.server.port}`;
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: "ok" });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: "ready" });
  });

  test("a job log link's token never reaches Foreman's own access log", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    await foreman.server.start();
    const token = "5e1f0c3a9b7d2e4f6a8c0b1d3e5f7a9c2b4d6e8f0a1c3e5b7d9f1a3c5e7b9d0f";
    const path = "/jobs/00000000-0000-4000-8000-0000000000b7/log";
    const answer = await fetch(`http://127.0.0.1:${foreman.server.port}${path}?token=${token}`);
    expect(answer.status).toBe(404);
    // Probot's pino-http writes the access line when the response finishes.
    await vi.waitFor(() => expect(foreman!.logs.join("")).toContain(`GET ${path}?token=[REDACTED] 404`));
    expect(foreman.logs.join("")).not.toContain(token);
  });
});

describe("where Foreman acts", () => {
  test("production mode ignores repos outside ALLOWED_REPOS: nothing stored, no request, no comment", async () => {
    foreman = await startTestForeman(database, {
      env: buildTestEnv({ PRODUCTION_MODE: "true", ALLOWED_REPOS: "acme/other" }),
    });
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    expect(await countInbox()).toBe(0);
  });

  test("production mode acts on an allowed repo (matched case-insensitively)", async () => {
    foreman = await startTestForeman(database, {
      env: buildTestEnv({ PRODUCTION_MODE: "true", ALLOWED_REPOS: "codertocat/hello-world" }),
    });
    const github = mockGitHub().token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    expect(github.writes()).toHaveLength(5);
  });

  test("GHE_HOST sends every API call to the GitHub Enterprise Server and links to its web UI", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ GHE_HOST: "ghe.acme.test" }) });
    const github = mockGitHub("https://ghe.acme.test/api/v3").token();
    mockLabelToDraftPr(github, 1, 7);
    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    expect(github.writes()).toHaveLength(5);
    const comment = github.writes().find((request) => request.path.endsWith("/issues/1/comments"))!.body as {
      body: string;
    };
    expect(comment.body).toContain("(https://ghe.acme.test/Codertocat/Hello-World/tree/agent/1-");
  });

  test("a delivery without the fields Foreman reads is dropped with the reason logged: no throw, nothing stored", async () => {
    foreman = await startTestForeman(database);
    const payload = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 });
    delete payload.issue;
    await foreman.receive("issues", payload, "delivery-malformed");
    const status = loadExample("status", null);
    status.repository = null;
    await foreman.receive("status", status, "delivery-malformed-status");
    await foreman.settle();
    expect(await countInbox()).toBe(0);
    const drops = foreman.logs
      .map((line) => JSON.parse(line) as { msg: string; deliveryId?: string; reason?: string })
      .filter((line) => line.msg === "webhook payload dropped");
    expect(drops.map(({ deliveryId, reason }) => ({ deliveryId, reason }))).toEqual([
      { deliveryId: "delivery-malformed", reason: "issue: Invalid input: expected object, received undefined" },
      { deliveryId: "delivery-malformed-status", reason: "repository: Invalid input: expected object, received null" },
    ]);
  });

  test("installation events record the installation and its repositories", async () => {
    foreman = await startTestForeman(database);
    const created = loadExample("installation", "created");
    await foreman.receive("installation", created);
    const added = loadExample("installation_repositories", "added");
    await foreman.receive("installation_repositories", added);
    const removed = loadExample("installation_repositories", "removed");
    await foreman.receive("installation_repositories", removed);
    await foreman.settle();

    const installations = await database.sql`select id::int, account_login, suspended from installations`;
    expect(installations.map((row) => ({ ...row }))).toEqual([
      { id: created.installation.id, account_login: created.installation.account.login, suspended: false },
    ]);
    const repos =
      await database.sql`select full_name, removed_at is not null as removed from repositories order by full_name`;
    const removedNames = new Set(removed.repositories_removed.map((repo: { full_name: string }) => repo.full_name));
    for (const repo of repos) expect(repo.removed).toBe(removedNames.has(repo.full_name as string));
    expect(repos.length).toBeGreaterThan(0);
    expect(INSTALLATION_ID).not.toBe(created.installation.id);
  });
});

/** Sends a POST's headers (and no body), and reads the answer and whether the server closed the connection. */
function sendHeadersOnly(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      const lines = Object.entries({ host: "127.0.0.1", "x-github-event": "issues", ...headers }).map(
        ([name, value]) => `${name}: ${value}`,
      );
      socket.write(`POST ${path} HTTP/1.1\r\n${lines.join("\r\n")}\r\n\r\n`);
    });
    let raw = "";
    socket.on("data", (chunk) => (raw += chunk.toString("utf8")));
    socket.on("error", reject);
    socket.on("close", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
      resolve({ status, body: raw.slice(raw.indexOf("\r\n\r\n") + 4), closed: true });
    });
  });
}
