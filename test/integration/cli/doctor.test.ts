import { createPublicKey, createVerify, generateKeyPairSync, randomBytes } from "node:crypto";
import nock from "nock";
import postgres from "postgres";
import { describe, expect, inject, test } from "vitest";
import { runDoctorCommand } from "../../../src/cli/doctor.js";
import { useTestDatabase } from "../../helpers/test-database.js";
import { TEST_PRIVATE_KEY, TEST_WEBHOOK_SECRET } from "../../helpers/test-foreman.js";
import "../agents/docker-available.js"; // fails the file, saying what to do, without a Docker daemon and the test image
import "../agents/egress-available.js"; // … and without the egress proxy image (the agent images: `sudo npm run images:build`)

// GitHub is simulated by strict nock, which checks the app JWT's signature against the app's real
// public key as GitHub does; PostgreSQL and the Docker daemon are real.

const database = useTestDatabase();
const APP_PUBLIC_KEY = createPublicKey(TEST_PRIVATE_KEY);
const NOW = new Date("2026-11-20T12:00:00.000Z");

function environment(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: database.url,
    APP_ID: "12345",
    PRIVATE_KEY: TEST_PRIVATE_KEY,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    ...overrides,
  };
}

/** Whether a request's `Bearer` JWT is the app's: signed with its key, issued by its id, valid at NOW. */
function isAppJwt(authorization: string | undefined): boolean {
  const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
  if (!token) return false;
  const [header, payload, signature] = token.split(".");
  const verified = createVerify("RSA-SHA256")
    .update(`${header}.${payload}`)
    .verify(APP_PUBLIC_KEY, Buffer.from(signature!, "base64url"));
  const claims = JSON.parse(Buffer.from(payload!, "base64url").toString()) as { iss: number; iat: number; exp: number };
  const now = NOW.getTime() / 1000;
  return verified && claims.iss === 12345 && claims.iat <= now && claims.exp > now && claims.exp - claims.iat <= 600;
}

/**
 * GitHub's `GET /app` (and the deliveries, when given): answered 200 only for a JWT that is the app's,
 * and 401 (as GitHub does) only for one that is not; `validKey` says which the test expects.
 */
function mockGitHub(validKey: boolean, deliveries?: unknown[]) {
  const github = nock("https://api.github.com");
  const app = github.get("/app").matchHeader("authorization", (value) => isAppJwt(value) === validKey);
  if (validKey) app.reply(200, { id: 12345, slug: "foreman-test", name: "Foreman Test" });
  else app.reply(401, { message: "A JSON web token could not be decoded" });
  if (deliveries)
    github
      .get("/app/hook/deliveries")
      .query({ per_page: "50" })
      .matchHeader("authorization", (value) => isAppJwt(value))
      .reply(200, deliveries);
  return github;
}

function delivery(guid: string, statusCode: number, status: string) {
  return {
    id: Number.parseInt(guid.slice(0, 6), 16),
    guid,
    delivered_at: "2026-11-20T11:59:00Z",
    redelivery: false,
    duration: 0.2,
    status,
    status_code: statusCode,
    event: "issues",
    action: "labeled",
    installation_id: 1,
    repository_id: 2,
  };
}

async function run(env: Record<string, string>, args: string[] = ["--progress"]) {
  const out: string[] = [];
  const progress: string[] = [];
  const code = await runDoctorCommand(args, {
    environment: env,
    out: (text) => out.push(text),
    progress: (text) => progress.push(text),
    progressByDefault: false,
    now: () => NOW,
  });
  return { code, out, progress };
}

/** The status column of each check, by name. */
function statuses(out: string[]): Record<string, string> {
  return Object.fromEntries(
    out
      .map((line) =>
        /^(ok|FAILED|skipped) +(environment|database|docker|agent images|github app|webhook deliveries|egress proxy image) /.exec(
          line,
        ),
      )
      .filter((match) => match !== null)
      .map((match) => [match[2], match[1]]),
  );
}

describe("foreman doctor", () => {
  test("everything in order: each check ok, progress named as each starts, exit 0", async () => {
    mockGitHub(true, [delivery("aaaa0001", 200, "OK"), delivery("aaaa0002", 202, "Accepted")]);
    const { code, out, progress } = await run(environment());
    expect(code).toBe(0);
    expect(statuses(out)).toEqual({
      environment: "ok",
      database: "ok",
      docker: "ok",
      "agent images": "ok",
      "github app": "ok",
      "webhook deliveries": "ok",
      "egress proxy image": "ok",
    });
    expect(out).toContain("ok      github app         authenticated as Foreman Test (foreman-test, APP_ID=12345)");
    expect(out).toContain("ok      webhook deliveries the last 2 deliveries all succeeded");
    expect(out.find((line) => line.includes(" database "))).toMatch(
      /PostgreSQL \S+.* reached; all \d+ migrations applied$/,
    );
    expect(out.at(-1)).toBe("All checks passed.");
    expect(progress).toEqual([
      "[1/7] checking environment…",
      "[2/7] checking database…",
      "[3/7] checking docker…",
      "[4/7] checking agent images…",
      "[5/7] checking github app…",
      "[6/7] checking webhook deliveries…",
      "[7/7] checking egress proxy image…",
    ]);
  });

  test("a wrong private key (GitHub answers 401) and a missing egress proxy image: each says what to fix, exit 1", async () => {
    mockGitHub(false);
    const wrongKey = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs1", format: "pem" })
      .toString();
    const missingImage = `foreman-agents/egress-proxy:missing-${randomBytes(4).toString("hex")}`;
    const { code, out } = await run(environment({ PRIVATE_KEY: wrongKey, EGRESS_PROXY_IMAGE: missingImage }), []);
    expect(code).toBe(1);
    expect(statuses(out)).toMatchObject({
      "github app": "FAILED",
      "webhook deliveries": "skipped",
      "egress proxy image": "FAILED",
    });
    const text = out.join("\n");
    expect(text).toContain(
      "FAILED  github app         GitHub refused the app's credentials (401): the private key does not belong to APP_ID=12345, or this host's clock is off\n" +
        "                           fix: check APP_ID against the app's settings page, generate a new private key there and point PRIVATE_KEY_PATH at it; check the clock (NTP)",
    );
    expect(text).toContain(
      `FAILED  egress proxy image EGRESS_PROXY_IMAGE=${missingImage} is not on the daemon: network: egress jobs (every built-in CLI profile) fail\n` +
        "                           fix: build it with sudo npm run images:build (foreman-agents/egress-proxy), or load it and set EGRESS_PROXY_IMAGE to its name",
    );
    expect(out.at(-1)).toBe("2 checks failed: fix what each says.");
  });

  test("failed webhook deliveries: the newest is named with its fix", async () => {
    mockGitHub(true, [delivery("bbbb0002", 401, "Invalid HTTP Response: 401"), delivery("bbbb0001", 200, "OK")]);
    const { code, out } = await run(environment(), []);
    expect(code).toBe(1);
    expect(out.join("\n")).toContain(
      "FAILED  webhook deliveries 1 of the last 2 deliveries failed; the newest: issues.labeled at 2026-11-20T11:59:00Z, HTTP 401 (Invalid HTTP Response: 401, delivery bbbb0002)\n" +
        "                           fix: the signature did not match: WEBHOOK_SECRET must equal the app's webhook secret; then redeliver from the app's settings page (Advanced → Recent Deliveries)",
    );
  });

  test("an unmigrated database and an unreachable Docker daemon are named with their fix; no app: the setup is named", async () => {
    const adminUrl = inject("adminDatabaseUrl");
    const name = `foreman_doctor_${randomBytes(4).toString("hex")}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name}`);
    try {
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const socket = `/tmp/foreman-doctor-${randomBytes(4).toString("hex")}.sock`;
      const { code, out } = await run({ DATABASE_URL: url.toString(), DOCKER_HOST: `unix://${socket}` }, []);
      expect(code).toBe(1);
      expect(statuses(out)).toEqual({
        environment: "ok",
        database: "FAILED",
        docker: "FAILED",
        "agent images": "skipped",
        "github app": "FAILED",
        "webhook deliveries": "skipped",
        "egress proxy image": "skipped",
      });
      const text = out.join("\n");
      expect(text).toMatch(/database {11}PostgreSQL .* reached; (\d+) of \1 migrations pending \(0000_init, /);
      expect(text).toContain("fix: run foreman migrate (foreman serve also migrates at start)");
      expect(text).toContain(`FAILED  docker             the Docker daemon at unix://${socket} does not answer: `);
      expect(text).toContain("fix: start the Docker daemon (or point DOCKER_HOST at it)");
      expect(text).toContain("FAILED  github app         APP_ID is not set: the GitHub App is not registered yet");
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    }
  });

  test("a bad environment fails the first check and skips the rest", async () => {
    const { code, out } = await run({ APP_ID: "abc", PORT: "99999" }, []);
    expect(code).toBe(1);
    expect(out[0]).toMatch(/^FAILED {2}environment {8}APP_ID="abc": .*; PORT=/);
    expect(out[1]).toBe(
      "                           fix: set or correct the variables named (README, Environment variables); a .env in the working directory is read too",
    );
    expect(out.slice(2, -1).every((line) => line.startsWith("skipped "))).toBe(true);
    expect(await run({}, ["--verbose"])).toMatchObject({
      code: 2,
      out: [expect.stringContaining("unknown option --verbose")],
    });
  });
});
