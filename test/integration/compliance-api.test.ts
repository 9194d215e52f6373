import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { x as extract } from "tar";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { FileArtifactStore } from "../../src/compliance/artifacts.js";
import type { ChainRecord } from "../../src/chain/chain.js";
import { generateCheckpointKeyPair, loadCheckpointSigner } from "../../src/chain/checkpoints.js";
import { createCheckpoint } from "../../src/compliance/create-checkpoint.js";
import { runTokensCommand } from "../../src/cli/tokens.js";
import { parseEnv } from "../../src/config/env.js";
import { buildComplianceRouteOptions, createComplianceRoutes } from "../../src/http/compliance-routes.js";
import {
  createTempArtifactStore,
  MERGED_TASK,
  resetComplianceTables,
  seedTrail,
} from "../helpers/compliance-fixtures.js";
import { createTestDatabase, type TestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

let database: TestDatabase;
let store: FileArtifactStore;
let trail: ChainRecord[];
let server: Server;
let base: string;
const signer = loadCheckpointSigner(generateCheckpointKeyPair().privateKeyPem);
const NOW = new Date("2026-11-21T09:00:00.000Z");

beforeAll(async () => {
  database = await createTestDatabase();
  // The routes as Probot mounts them, on a plain node:http server on a free port.
  server = createServer((req, res) => {
    const routes = createComplianceRoutes({
      sql: database.sql,
      artifacts: store,
      publicKeys: new Map([[signer.keyId, signer.publicKey]]),
      now: () => NOW,
    });
    void routes(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await database.drop();
});
beforeEach(async () => {
  await resetComplianceTables(database.sql);
  store = createTempArtifactStore();
  trail = await seedTrail(database.sql, store);
});

async function createToken(role: string): Promise<{ id: string; token: string }> {
  let output = "";
  expect(
    await runTokensCommand(["create", "--name", `${role} user`, "--role", role], {
      sql: database.sql,
      out: (text) => (output = text),
      actor: "cli:test",
    }),
  ).toBe(0);
  return { id: /Created token (\S+)/.exec(output)![1]!, token: /^(fmn_\S+)$/m.exec(output)![1]! };
}

/** A response's JSON, for assertions. */
async function readJson(response: Response | Promise<Response>): Promise<any> {
  return (await response).json();
}

function get(path: string, token?: string, method = "GET"): Promise<Response> {
  return fetch(`${base}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe("API tokens", () => {
  test("created tokens are fmn_ + 32 random bytes; only their sha256 is stored; creation and revocation are recorded", async () => {
    const { id, token } = await createToken("auditor");
    expect(token).toMatch(/^fmn_[A-Za-z0-9_-]{43}$/);
    const [row] = await database.sql`select name, role, token_sha256 from api_tokens where id = ${id}`;
    expect(row).toMatchObject({ name: "auditor user", role: "auditor" });
    expect(JSON.stringify(await database.sql`select * from api_tokens`)).not.toContain(token.slice(4));

    let listing = "";
    await runTokensCommand(["list"], { sql: database.sql, out: (text) => (listing = text) });
    expect(listing).toContain(`${id}  auditor `);
    expect(listing).toContain("active");
    expect(await runTokensCommand(["revoke", id], { sql: database.sql, out: () => {}, actor: "cli:test" })).toBe(0);
    expect(await runTokensCommand(["revoke", id], { sql: database.sql, out: () => {} })).toBe(1);
    await runTokensCommand(["list"], { sql: database.sql, out: (text) => (listing = text) });
    expect(listing).toContain("revoked 20");

    const records =
      await database.sql`select kind, actor, payload from compliance_records where kind like 'api_token.%' and actor = 'cli:test' order by seq`;
    expect(records.map((record) => ({ ...record }))).toEqual([
      { kind: "api_token.created", actor: "cli:test", payload: { tokenId: id, name: "auditor user", role: "auditor" } },
      { kind: "api_token.revoked", actor: "cli:test", payload: { tokenId: id, name: "auditor user", role: "auditor" } },
    ]);
  });

  test.each([
    [["create", "--name", "x", "--role", "root"], "--role must be one of admin, operator, auditor"],
    [["create", "--role", "auditor"], "--name is required"],
    [["create", "--name", "x", "--role", "auditor", "--bogus"], "Unknown option '--bogus'"],
    [["revoke", "12"], '"12" is not a token id'],
    [["frobnicate"], "Usage:"],
  ])("usage errors exit 2: %j", async (args, message) => {
    let output = "";
    expect(await runTokensCommand(args, { sql: database.sql, out: (text) => (output = text) })).toBe(2);
    expect(output).toContain(message);
  });
});

describe("authentication and roles on /api/compliance", () => {
  test("no token, an unknown token, a revoked token → 401 saying how to get one", async () => {
    const revoked = await createToken("auditor");
    await runTokensCommand(["revoke", revoked.id], { sql: database.sql, out: () => {} });
    for (const [token, reason] of [
      [undefined, "No API token was sent."],
      ["fmn_not-a-real-token", "That API token is not known."],
      ["ghp_something", "That is not a Foreman API token."],
      [revoked.token, "That API token has been revoked."],
    ] as const) {
      const response = await get("/api/compliance/checkpoints", token);
      expect(response.status).toBe(401);
      expect(response.headers.get("www-authenticate")).toBe('Bearer realm="foreman"');
      const body = await readJson(response);
      expect(body.error).toBe("unauthorized");
      expect(body.message).toContain(reason);
      expect(body.message).toContain("foreman tokens create --name <who> --role auditor");
    }
  });

  test("an operator token → 403; auditor and admin tokens → 200", async () => {
    const operator = await createToken("operator");
    const forbidden = await get(`/api/compliance/tasks/${MERGED_TASK}`, operator.token);
    expect(forbidden.status).toBe(403);
    expect(await readJson(forbidden)).toEqual({
      error: "forbidden",
      message:
        'The token "operator user" has the role operator; this needs one of: admin, auditor. Ask an administrator for a token with the right role.',
    });
    for (const role of ["auditor", "admin"]) {
      const { token } = await createToken(role);
      expect((await get(`/api/compliance/tasks/${MERGED_TASK}`, token)).status).toBe(200);
    }
  });

  test("nothing writes: other methods → 405; unknown paths and tasks → 404; other paths fall through", async () => {
    const { token } = await createToken("admin");
    expect((await get(`/api/compliance/tasks/${MERGED_TASK}`, token, "POST")).status).toBe(405);
    expect((await get(`/api/compliance/tasks/${MERGED_TASK}`, token, "DELETE")).status).toBe(405);
    expect((await get("/api/compliance/records", token)).status).toBe(404);
    const missing = await get("/api/compliance/tasks/00000000-0000-4000-8000-00000000ffff", token);
    expect(missing.status).toBe(404);
    expect((await readJson(missing)).message).toBe(
      "No task 00000000-0000-4000-8000-00000000ffff and no compliance record for it.",
    );
    expect((await get("/api/other", token)).status).toBe(404);
    expect((await get("/api/compliance/checkpoints?limit=0", token)).status).toBe(400);
  });
});

describe("evidence", () => {
  test("GET /api/compliance/tasks/:id: the task row, its records with hashes, artifacts, agent jobs, verification and summary", async () => {
    const { token } = await createToken("auditor");
    const bundle = await readJson(get(`/api/compliance/tasks/${MERGED_TASK}`, token));
    const own = trail.filter((record) => record.taskId === MERGED_TASK);
    expect(bundle.format).toBe("foreman-evidence/1");
    expect(bundle.generatedAt).toBe(NOW.toISOString());
    expect(bundle.task).toMatchObject({ id: MERGED_TASK, state: "merged", repo_owner: "acme", issue_number: 7 });
    expect(bundle.records).toEqual(own);
    const promptSha = (own[3]!.payload as { artifacts: Array<{ sha256: string }> }).artifacts[0]!.sha256;
    expect(bundle.artifacts).toEqual([
      {
        sha256: promptSha,
        kind: "prompt",
        size: 56,
        storedAt: expect.stringMatching(/Z$/),
        status: "ok",
        file: `artifacts/${promptSha}`,
      },
    ]);
    expect(bundle.agentJobs).toEqual([]);
    expect(bundle.verification).toEqual({
      ok: true,
      taskId: MERGED_TASK,
      records: 6,
      artifacts: { checked: 1, storeChecked: true },
      failure: null,
    });
    expect(bundle.summary).toEqual({
      taskId: MERGED_TASK,
      repository: "acme/api",
      issueNumber: 7,
      issueTitle: "Issue 7",
      state: "merged",
      reason: null,
      authorised: { by: "octocat", role: "write", label: "agent:ready" },
      tested: null,
      approved: { by: "mona", at: "2026-11-20T12:07:00.000Z", approvals: [], mergeCommitSha: null },
      implemented: {
        branch: "agent/7-fix",
        baseSha: "b".repeat(40),
        headSha: "c".repeat(40),
        prNumber: 107,
        prUrl: "https://github.com/acme/api/pull/107",
        commits: ["b".repeat(40), "c".repeat(40)],
      },
      evidence: {
        records: 6,
        firstSeq: 1,
        lastSeq: 8,
        lastHash: own.at(-1)!.hash,
        artifacts: 1,
        verified: true,
        problem: null,
        api: `/api/compliance/tasks/${MERGED_TASK}`,
      },
    });
  });

  test("agent jobs of the task are included, without their log token", async () => {
    await database.sql`insert into agent_jobs (id, task_id, role, profile, base_sha, log_token) values ('00000000-0000-4000-8000-000000000f01', ${MERGED_TASK}, 'coder', 'claude-code', ${"b".repeat(40)}, 'secret-log-token')`;
    const { token } = await createToken("auditor");
    const text = await (await get(`/api/compliance/tasks/${MERGED_TASK}`, token)).text();
    expect(JSON.parse(text).agentJobs).toMatchObject([{ role: "coder", profile: "claude-code", task_id: MERGED_TASK }]);
    expect(text).not.toContain("secret-log-token");
  });

  test("a tampered record shows in the bundle's verification", async () => {
    await database.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`update compliance_records set actor = 'mallory' where seq = 4`;
    });
    const { token } = await createToken("auditor");
    const bundle = await readJson(get(`/api/compliance/tasks/${MERGED_TASK}`, token));
    expect(bundle.verification).toMatchObject({ ok: false, failure: { seq: 4 } });
    expect(bundle.summary.evidence).toMatchObject({
      verified: false,
      problem: expect.stringMatching(/^record 4: stored hash/),
    });
  });

  test("GET …/bundle.tar.gz: evidence.json plus every artifact file, in one folder", async () => {
    const { token } = await createToken("admin");
    const response = await get(`/api/compliance/tasks/${MERGED_TASK}/bundle.tar.gz`, token);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/gzip");
    expect(response.headers.get("content-disposition")).toBe(
      `attachment; filename="foreman-evidence-${MERGED_TASK}.tar.gz"`,
    );
    const into = await mkdtemp(join(tmpdir(), "foreman-bundle-test-"));
    await pipeline(Readable.fromWeb(response.body as never), extract({ cwd: into }));
    const root = join(into, `foreman-evidence-${MERGED_TASK}`);
    const evidence = JSON.parse(await readFile(join(root, "evidence.json"), "utf8"));
    const json = await readJson(get(`/api/compliance/tasks/${MERGED_TASK}`, token));
    expect(evidence).toEqual(json);
    const sha = evidence.artifacts[0].sha256;
    expect(await readdir(join(root, "artifacts"))).toEqual([sha]);
    expect(await readFile(join(root, "artifacts", sha), "utf8")).toBe(
      "Fix the bug. Token: ghp_[REDACTED] and secret [REDACTED]",
    );
  });

  test("GET /api/compliance/checkpoints lists the signed checkpoints, paged, with the public key", async () => {
    await createCheckpoint(database.sql, signer, new Date("2026-11-20T13:00:00.000Z"));
    const { token } = await createToken("auditor");
    const body = await readJson(get("/api/compliance/checkpoints", token));
    expect(body.checkpoints).toEqual([
      {
        seq: 8,
        hash: trail[7]!.hash,
        time: "2026-11-20T13:00:00.000Z",
        signature: expect.any(String),
        keyId: signer.keyId,
      },
    ]);
    expect(body.next).toBeNull();
    expect(body.publicKeys).toEqual([
      { keyId: signer.keyId, pem: signer.publicKey.export({ type: "spki", format: "pem" }).toString() },
    ]);
    expect((await readJson(get("/api/compliance/checkpoints?after=8", token))).checkpoints).toEqual([]);
    expect((await readJson(get("/api/compliance/checkpoints?limit=1", token))).next).toBe(8);
  });
});

describe("wired into the app", () => {
  let foreman: TestForeman | null = null;
  afterEach(async () => {
    await foreman?.server.stop();
    await foreman?.stop();
    foreman = null;
  });

  test("the routes' options come from the environment: ARTIFACTS_DIR and the checkpoint keys", () => {
    const options = buildComplianceRouteOptions(parseEnv({ DATA_DIR: "/var/lib/foreman" }));
    expect(options).toEqual({
      artifacts: expect.objectContaining({ root: "/var/lib/foreman/artifacts" }),
      publicKeys: null,
    });
  });

  test("Probot's server answers /api/compliance next to the health routes", async () => {
    foreman = await startTestForeman(database, { env: buildTestEnv({ PORT: "0", HOST: "127.0.0.1" }) });
    await foreman.server.start();
    const port = foreman.server.port;
    expect((await fetch(`http://127.0.0.1:${port}/api/compliance/checkpoints`)).status).toBe(401);
    const { token } = await createToken("auditor");
    const bundle = await readJson(
      fetch(`http://127.0.0.1:${port}/api/compliance/tasks/${MERGED_TASK}`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(bundle.records).toHaveLength(6);
  });
});
