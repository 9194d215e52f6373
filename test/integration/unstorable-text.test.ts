import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { verifyChain, type ChainRecord } from "../../src/chain/chain.js";
import { claimNextEffect } from "../../src/db/queries/claim-next-effect.js";
import { insertEffects } from "../../src/db/queries/insert-effects.js";
import { insertTask } from "../../src/db/queries/insert-task.js";
import { releaseExpiredLeases } from "../../src/db/queries/release-expired-effect-leases.js";
import { EffectKind } from "../../src/workflow/effects.js";
import { emptyPipeline, type Task } from "../../src/workflow/task.js";
import { makePipelineTask } from "../unit/github/pipeline-fixtures.js";
import { mockGitHub, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildCheckSuitePayload } from "../helpers/more-payloads.js";
import { INSTALLATION_ID } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// Text PostgreSQL cannot store (U+0000, lone surrogates) from GitHub or an agent is stored with
// U+FFFD in its place, and an effect that never gets to record its end fails after its attempts.

const BRANCH = "agent/5-fix-the-login-redirect";
const HEAD = "code-sha";
const MAX_ATTEMPTS = 3;

const database = useTestDatabase();
let foreman: TestForeman;

beforeEach(async () => {
  await resetTables(database);
  foreman = await startTestForeman(database, { env: buildTestEnv({ EFFECT_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }) });
});
afterEach(async () => {
  await foreman.stop();
});

/** A one-step task on the example repository whose coder pushed `code-sha`: awaiting CI on draft PR #7. */
function makeAwaitingCiTask(): Task {
  return makePipelineTask("awaiting_ci", {
    repo: { installationId: INSTALLATION_ID, id: REPO.id, owner: REPO.owner, name: REPO.name, defaultBranch: "master" },
    branch: BRANCH,
    headSha: HEAD,
    prNumber: 7,
    prUrl: `https://github.com/${REPO.owner}/${REPO.name}/pull/7`,
    step: null,
    jobId: null,
    pipeline: {
      ...emptyPipeline(),
      roles: ["coder"],
      waitingCiSha: HEAD,
      steps: [
        {
          role: "coder",
          purpose: "pipeline",
          status: "succeeded",
          jobId: "job-1",
          commitSha: HEAD,
          summary: "Fixed the redirect.",
        },
      ],
    },
  });
}

async function readChain(): Promise<ChainRecord[]> {
  const rows =
    await database.sql`select seq::int, task_id as "taskId", kind, actor, payload, prev_hash as "prevHash", hash, created_at as "createdAt" from compliance_records order by seq`;
  return rows.map((row) => ({
    ...row,
    createdAt: new Date(row.createdAt as string).toISOString(),
  })) as unknown as ChainRecord[];
}

describe("text PostgreSQL cannot store", () => {
  test("a CI log with U+0000 and a lone surrogate: the CI result is recorded once, the ci_fixer is dispatched, the chain verifies", async () => {
    await insertTask(database.sql, makeAwaitingCiTask());
    const github = mockGitHub().token();
    github.scope
      .get(`${REPO_PATH}/commits/${HEAD}/check-suites`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_suites: [
          {
            id: 41,
            status: "completed",
            conclusion: "failure",
            head_sha: HEAD,
            app: { slug: "github-actions", id: 15368 },
          },
        ],
      });
    github.scope
      .get(`${REPO_PATH}/check-suites/41/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [
          {
            id: 410,
            name: "test\u0000suite",
            status: "completed",
            conclusion: "failure",
            app: { slug: "github-actions" },
            output: { title: "1 failure", summary: "binary\u0000output", text: null, annotations_count: 0 },
          },
        ],
      });
    github.scope
      .get(`${REPO_PATH}/actions/jobs/410/logs`)
      .reply(200, "step 1 ok\nwrote \u0000\u0000 to the socket \ud800 then failed\n", { "content-type": "text/plain" });
    github.scope
      .get(`${REPO_PATH}/commits/${HEAD}/status`)
      .query({ per_page: "100" })
      .reply(200, { state: "pending", statuses: [] });
    github.scope.get(`${REPO_PATH}/rules/branches/master`).query({ per_page: "100" }).reply(200, []);
    github.scope.get(`${REPO_PATH}/branches/master`).reply(200, { name: "master", protected: false });
    // The redraws of the status comment and check run: how many depends on timing.
    github.display.post(`${REPO_PATH}/issues/5/comments`).optionally().reply(201, { id: 9001 });
    github.display.patch(`${REPO_PATH}/issues/comments/9001`).optionally().reply(200, { id: 9001 });
    github.display.post(`${REPO_PATH}/check-runs`).optionally().reply(201, { id: 501 });
    github.display.patch(`${REPO_PATH}/check-runs/501`).optionally().reply(200, { id: 501 });

    await foreman.receive(
      "check_suite",
      buildCheckSuitePayload({
        headBranch: BRANCH,
        headSha: HEAD,
        conclusion: "failure",
        suiteId: 41,
        app: "github-actions",
      }),
    );
    await foreman.settle();

    expect(await database.sql`select status, attempts from effects where kind = ${EffectKind.collectCiResult}`).toEqual(
      [{ status: "done", attempts: 1 }],
    );
    const [ci] = await database.sql`select failures from ci_results where head_sha = ${HEAD}`;
    const [failure] = ci!.failures as Array<{ name: string; summary: string; logTail: string }>;
    expect(failure!.name).toBe("test\uFFFDsuite");
    expect(failure!.summary).toBe("1 failure\n\nbinary\uFFFDoutput");
    expect(failure!.logTail).toContain("wrote \uFFFD\uFFFD to the socket \uFFFD then failed");
    const [task] = await database.sql`select state, step, pipeline from tasks`;
    expect(task).toMatchObject({ state: "awaiting_agent", step: "ci_fixer", pipeline: { ciAttempts: 1 } });
    expect(await database.sql`select role, status from agent_jobs`).toEqual([{ role: "ci_fixer", status: "queued" }]);
    expect(verifyChain(await readChain())).toMatchObject({ ok: true });
  });

  test("an effect whose lease runs out on every attempt fails after its attempts, and the issue says it is Foreman's fault", async () => {
    // No worker runs while the dead ones hold the effect.
    await foreman.stop();
    await insertTask(database.sql, makeAwaitingCiTask());
    await insertEffects(database.sql, makeAwaitingCiTask().id, [
      { kind: EffectKind.collectCiResult, sha: HEAD, suiteId: 41, apps: ["github-actions"] },
    ]);
    // Each attempt: a worker leases the effect and dies; its lease runs out (by the database's clock).
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
      const claimed = await claimNextEffect(database.sql, "dead-worker", 60_000);
      expect(claimed).toMatchObject({ kind: EffectKind.collectCiResult, attempts: attempt });
      await database.sql`update effects set lease_until = now() - interval '1 second' where id = ${claimed!.id}`;
      expect(await releaseExpiredLeases(database.sql)).toBe(1);
    }
    // The next lease is one too many: it fails the effect without reading GitHub again, and the
    // status comment says so (the only requests: the token and the comment).
    const github = mockGitHub().token();
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, { id: 9001 });
    github.display.post(`${REPO_PATH}/check-runs`).optionally().reply(201, { id: 501 });
    github.display.patch(`${REPO_PATH}/check-runs/501`).optionally().reply(200, { id: 501 });
    foreman = await startTestForeman(database, { env: buildTestEnv({ EFFECT_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }) });
    await foreman.settle();

    const [effect] =
      await database.sql`select status, attempts, last_error from effects where kind = ${EffectKind.collectCiResult}`;
    expect(effect).toMatchObject({ status: "failed", attempts: MAX_ATTEMPTS + 1 });
    expect(effect!.last_error).toContain(`${MAX_ATTEMPTS} times`);
    const [task] = await database.sql`select state, reason from tasks`;
    expect(task).toMatchObject({ state: "failed", reason: { code: "INTERNAL_ERROR" } });
    const comment = (
      github.writes().find((request) => request.path.endsWith("/issues/5/comments"))!.body as {
        body: string;
      }
    ).body;
    expect(comment).toContain(`started the step "collect ci result" ${MAX_ATTEMPTS} times`);
    expect(comment).toContain("this is a fault in Foreman, not in your repository: tell the operator");
    const chain = await readChain();
    expect(chain.map((record) => record.kind)).toContain(`effect.${EffectKind.collectCiResult}.failed`);
    expect(verifyChain(chain)).toMatchObject({ ok: true });
  });
});
