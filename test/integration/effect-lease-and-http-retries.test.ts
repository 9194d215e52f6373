import nock from "nock";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { insertEffects } from "../../src/db/queries/insert-effects.js";
import { insertTask } from "../../src/db/queries/insert-task.js";
import { releaseExpiredLeases } from "../../src/db/queries/release-expired-effect-leases.js";
import { STATUS_MARKER } from "../../src/github/upsert-status-comment.js";
import { EffectKind } from "../../src/workflow/effects.js";
import { makePipelineTask } from "../unit/github/pipeline-fixtures.js";
import { mockGitHub, REPO, REPO_PATH } from "../helpers/github-mock.js";
import { buildIssuesPayload, INSTALLATION_ID } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";
import { startTestForeman, type TestForeman } from "../helpers/test-foreman.js";

// The HTTP layer re-sends reads only: a write GitHub did but answered 5xx is retried by the durable
// effect, which looks first. A running effect renews its lease, and stops writing once it lost it.

const database = useTestDatabase();
let foreman: TestForeman | undefined;
/** Requests no mock answered (nock refuses them): each test expects none. */
let unmatched: string[] = [];
const recordUnmatched = (request: { method?: string; url?: string }) =>
  unmatched.push(`${request.method} ${request.url}`);

beforeEach(async () => {
  await resetTables(database);
  unmatched = [];
  nock.emitter.on("no match", recordUnmatched);
});
afterEach(async () => {
  await foreman?.stop();
  foreman = undefined;
  nock.emitter.removeListener("no match", recordUnmatched);
  expect(unmatched).toEqual([]);
});

/** The effect's lease and the database's clock, in ms since the epoch. */
async function readLease(kind: string): Promise<{ leaseUntil: number; now: number; status: string }> {
  const [row] = await database.sql`
    select extract(epoch from lease_until) * 1000 as lease_until, extract(epoch from now()) * 1000 as now, status
      from effects where kind = ${kind}`;
  return { leaseUntil: Number(row!.lease_until), now: Number(row!.now), status: String(row!.status) };
}

/** Resolve once `check` is true, looking every 20 ms (what is awaited is a state, not a time). */
async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** Issue 5's status comment to draw for a task awaiting CI on the example repository. */
async function insertStatusCommentEffect(attemptsSoFar: number): Promise<void> {
  const task = makePipelineTask("awaiting_ci", {
    repo: { installationId: INSTALLATION_ID, id: REPO.id, owner: REPO.owner, name: REPO.name, defaultBranch: "master" },
    jobId: null,
  });
  await insertTask(database.sql, task);
  await insertEffects(database.sql, task.id, [{ kind: EffectKind.upsertStatusComment }]);
  await database.sql`update effects set attempts = ${attemptsSoFar}`;
}

describe("HTTP retries", () => {
  test("GitHub makes the comment but answers 502: one POST, the effect's retry finds the comment, one comment in the end; a read that got 502 is re-sent by the HTTP layer", async () => {
    foreman = await startTestForeman(database, {
      octokitTuning: { retries: 2, retryAfterBaseValue: 1, throttle: false },
    });
    const github = mockGitHub().token();
    // A read: the HTTP layer sends it again, within the same attempt.
    github.scope
      .get(`${REPO_PATH}/contents/${encodeURIComponent(".github/foreman.yml")}`)
      .query({ ref: REPO.defaultBranch })
      .reply(502, { message: "Bad Gateway" });
    github.permission("Codertocat", "write").config(null).branch().planCommit().createRef().pull(7).labels(7);
    // GitHub stores the status comment, then the proxy in front of it answers 502.
    const made: Array<{ id: number; body: string; user: { type: string } }> = [];
    github.scope.post(`${REPO_PATH}/issues/1/comments`).reply(502, async (request: Request) => {
      const { body } = (await request.json()) as { body: string };
      made.push({ id: 9001, body, user: { type: "Bot" } });
      return { message: "Bad Gateway" };
    });
    // The effect's second attempt looks first, finds it, and edits it instead of posting another.
    github.scope
      .get(`${REPO_PATH}/issues/1/comments`)
      .query({ per_page: "100" })
      .reply(200, () => made);
    github.scope.patch(`${REPO_PATH}/issues/comments/9001`).reply(200, { id: 9001 });

    await foreman.receive("issues", buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: 1 }));
    await foreman.settle();
    await waitFor(async () => (await database.sql`select 1 from effects where status = 'pending'`).length === 0);
    await foreman.settle();

    const posts = github.requests.filter(
      (request) => request.method === "POST" && request.path.endsWith("/issues/1/comments"),
    );
    expect(posts).toHaveLength(1);
    expect(made).toHaveLength(1);
    expect(made[0]!.body).toContain(STATUS_MARKER);
    expect(
      github.requests.filter((request) => request.path.startsWith(`${REPO_PATH}/contents/`)).map((r) => r.method),
    ).toEqual(["GET", "GET"]);
    expect(
      await database.sql`select kind, status, attempts from effects where kind in ('authorize_trigger', 'upsert_status_comment') order by id`,
    ).toEqual([
      { kind: "authorize_trigger", status: "done", attempts: 1 },
      { kind: "upsert_status_comment", status: "done", attempts: 2 },
    ]);
    expect(await database.sql`select state, status_comment_id::int as id from tasks`).toEqual([
      { state: "awaiting_agent", id: 9001 },
    ]);
  });
});

describe("redraws after a crash", () => {
  test("an older status redraw that ran before (its worker died) is not skipped for a newer one: it looks first and adopts the comment it made; one comment in the end", async () => {
    // The first redraw's worker posted the comment and died before recording it; a later transition
    // queued a newer redraw meanwhile.
    await insertStatusCommentEffect(1);
    const [{ task_id: taskId }] = (await database.sql`select task_id from effects`) as unknown as [{ task_id: string }];
    await insertEffects(database.sql, taskId, [{ kind: EffectKind.upsertStatusComment }]);
    const github = mockGitHub().token();
    github.scope
      .get(`${REPO_PATH}/issues/5/comments`)
      .query({ per_page: "100" })
      .reply(200, [{ id: 9001, body: `${STATUS_MARKER}\nworking`, user: { type: "Bot" } }]);
    github.scope.patch(`${REPO_PATH}/issues/comments/9001`).times(2).reply(200, { id: 9001 });

    foreman = await startTestForeman(database);
    await waitFor(async () => (await database.sql`select 1 from effects where status <> 'done'`).length === 0);
    await foreman.settle();

    expect(github.writes().map((request) => `${request.method} ${request.path}`)).toEqual([
      `PATCH ${REPO_PATH}/issues/comments/9001`,
      `PATCH ${REPO_PATH}/issues/comments/9001`,
    ]);
    expect(await database.sql`select status_comment_id::int as id from tasks`).toEqual([{ id: 9001 }]);
  });
});

describe("effect leases", () => {
  test("an effect that runs longer than its lease renews it: the lease outlives its first term, nothing releases it, it runs once", async () => {
    await insertStatusCommentEffect(0);
    const github = mockGitHub().token();
    let released = -1;
    github.scope.post(`${REPO_PATH}/issues/5/comments`).reply(201, async () => {
      // GitHub is slow: it answers only once the first lease would have run out, by the database's clock.
      const first = await readLease(EffectKind.upsertStatusComment);
      await waitFor(async () => (await readLease(EffectKind.upsertStatusComment)).now > first.leaseUntil + 300);
      released = await releaseExpiredLeases(database.sql);
      return { id: 9001 };
    });
    foreman = await startTestForeman(database, { leaseMs: 600 });
    await waitFor(async () => (await readLease(EffectKind.upsertStatusComment)).status === "done");
    await foreman.settle();

    expect(released).toBe(0);
    expect(await database.sql`select status, attempts from effects`).toEqual([{ status: "done", attempts: 1 }]);
    expect(github.writes()).toHaveLength(1);
  });

  test("an effect whose lease is taken over while it runs stops: its next GitHub write is never sent, and it records nothing", async () => {
    // A retry (attempt 2): it looks for the status comment before it posts one.
    await insertStatusCommentEffect(1);
    const github = mockGitHub().token();
    github.scope
      .get(`${REPO_PATH}/issues/5/comments`)
      .query({ per_page: "100" })
      .reply(200, async () => {
        // Another replica takes the effect over; the running one notices at its next renewal.
        await database.sql`update effects set locked_by = 'other-replica'`;
        await waitFor(
          async () => foreman?.logs.some((line) => line.includes("effect lease lost while it ran")) ?? false,
        );
        return [];
      });
    foreman = await startTestForeman(database, { leaseMs: 600 });
    await waitFor(async () => foreman!.logs.some((line) => line.includes("another run takes it over")));
    await foreman.settle();

    expect(github.writes()).toEqual([]);
    expect(await database.sql`select status, attempts, locked_by from effects`).toEqual([
      { status: "running", attempts: 2, locked_by: "other-replica" },
    ]);
  });
});
