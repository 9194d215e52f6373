import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, test } from "vitest";
import { findStaleAgentJobs } from "../../src/db/queries/find-stale-agent-jobs.js";
import { insertEffects } from "../../src/db/queries/insert-effects.js";
import { insertTask } from "../../src/db/queries/insert-task.js";
import { listOwnEffectLeases } from "../../src/db/queries/list-own-effect-leases.js";
import { releaseOwnEffectLeases } from "../../src/db/queries/release-own-effect-leases.js";
import { LocalEffectLeases, releaseOwnIdleLeases } from "../../src/engine/local-effect-leases.js";
import { EffectKind } from "../../src/workflow/effects.js";
import { makePipelineTask } from "../unit/github/pipeline-fixtures.js";
import { REPO } from "../helpers/github-mock.js";
import { INSTALLATION_ID } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// A live replica's own lease sweep (docs/reliability.md#postgresql-restarted): leases under its
// name that it does not run in memory go back at once, not after their lease runs out. Leases here
// last ten minutes, so only the sweep can free them within a test.

const database = useTestDatabase();
const ME = "foreman-1";

const task = makePipelineTask("awaiting_ci", {
  repo: { installationId: INSTALLATION_ID, id: REPO.id, owner: REPO.owner, name: REPO.name, defaultBranch: "master" },
  jobId: null,
});

beforeEach(async () => {
  await resetTables(database);
  await insertTask(database.sql, task);
});

/** `count` effects of the task, each leased for ten minutes to `owner` at attempt 1; their ids. */
async function leaseEffectsTo(owner: string, count: number): Promise<number[]> {
  await insertEffects(
    database.sql,
    task.id,
    Array.from({ length: count }, () => ({ kind: EffectKind.upsertStatusComment })),
  );
  const rows = await database.sql<{ id: string }[]>`
    update effects set status = 'running', attempts = 1, locked_by = ${owner}, lease_until = now() + interval '10 minutes'
     where status = 'pending' returning id`;
  return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
}

async function readEffects(): Promise<Array<{ id: number; status: string; locked_by: string | null }>> {
  const rows = await database.sql<{ id: string; status: string; locked_by: string | null }[]>`
    select id, status, locked_by from effects order by id`;
  return rows.map((row) => ({ id: Number(row.id), status: row.status, locked_by: row.locked_by }));
}

describe("the queries", () => {
  test("list the leases under one name, and free only the same lease (name, attempt, still running)", async () => {
    const [a, b, c] = await leaseEffectsTo(ME, 3);
    await leaseEffectsTo("foreman-2", 1);
    expect(await listOwnEffectLeases(database.sql, ME)).toEqual([
      { id: a, attempts: 1 },
      { id: b, attempts: 1 },
      { id: c, attempts: 1 },
    ]);
    // b was leased again meanwhile (attempt 2): the lease read at attempt 1 is gone, b is left alone.
    await database.sql`update effects set attempts = 2 where id = ${b!}`;
    const freed = await releaseOwnEffectLeases(database.sql, ME, [
      { id: a!, attempts: 1 },
      { id: b!, attempts: 1 },
    ]);
    expect(freed).toBe(1);
    const effects = await readEffects();
    expect(effects.filter((effect) => effect.locked_by === null).map((effect) => effect.id)).toEqual([a]);
    expect(effects.filter((effect) => effect.locked_by === "foreman-2")).toHaveLength(1);
    expect(await releaseOwnEffectLeases(database.sql, ME, [])).toBe(0);
  });

  test("an agent job under this replica's name that it does not run is stale at once; one it runs is not", async () => {
    const [mine, lost, other] = [randomUUID(), randomUUID(), randomUUID()];
    for (const [id, replica] of [
      [mine, ME],
      [lost, ME],
      [other, "foreman-2"],
    ] as const)
      await database.sql`
        insert into agent_jobs (id, task_id, role, profile, base_sha, log_token, status, replica, started_at, lease_until)
        values (${id}, ${task.id}, 'coder', 'claude-code', 'base-sha', ${`token-${id}`}, 'running', ${replica}, now(),
                now() + interval '10 minutes')`;
    expect(await findStaleAgentJobs(database.sql)).toEqual([]);
    const stale = await findStaleAgentJobs(database.sql, null, { replica: ME, runningIds: [mine] });
    expect(stale.map((job) => job.id)).toEqual([lost]);
    // With nothing running here, both of its jobs are stale; the other replica's never are.
    const all = await findStaleAgentJobs(database.sql, null, { replica: ME, runningIds: [] });
    expect(all.map((job) => job.id).sort()).toEqual([mine, lost].sort());
  });
});

describe("releaseOwnIdleLeases", () => {
  test("frees the leases under its name that it does not run, and nothing else", async () => {
    const [running, lost] = await leaseEffectsTo(ME, 2);
    await leaseEffectsTo("foreman-2", 1);
    const local = new LocalEffectLeases();
    await local.trackClaim(
      async () => running!,
      (id) => id,
    );
    expect(await releaseOwnIdleLeases(database.sql, ME, local)).toBe(1);
    const effects = await readEffects();
    expect(effects.find((effect) => effect.id === lost)).toMatchObject({ status: "pending", locked_by: null });
    expect(effects.find((effect) => effect.id === running)).toMatchObject({ status: "running", locked_by: ME });
    expect(effects.filter((effect) => effect.locked_by === "foreman-2")).toHaveLength(1);
    // Once its run ends without recording anything, the next sweep frees it too.
    local.forget(running!);
    expect(await releaseOwnIdleLeases(database.sql, ME, local)).toBe(1);
  });

  test("a claim in flight when the leases are read is waited for: the effect it leased is not freed", async () => {
    const [claimed] = await leaseEffectsTo(ME, 1);
    let answerClaim: (id: number) => void = () => undefined;
    let sweepWaiting: () => void = () => undefined;
    const waiting = new Promise<void>((resolve) => (sweepWaiting = resolve));
    // The sweep has read the leases (the claimed row among them, not yet in memory) and now waits.
    class ObservedLeases extends LocalEffectLeases {
      override async settleClaims(): Promise<void> {
        sweepWaiting();
        await super.settleClaims();
      }
    }
    const local = new ObservedLeases();
    // The claim's statement has committed; its answer arrives only once the sweep waits for it.
    const claim = local.trackClaim(
      () => new Promise<number>((resolve) => (answerClaim = resolve)),
      (id) => id,
    );
    const sweep = releaseOwnIdleLeases(database.sql, ME, local);
    await waiting;
    answerClaim(claimed!);
    await claim;
    expect(await sweep).toBe(0);
    expect(await readEffects()).toEqual([{ id: claimed, status: "running", locked_by: ME }]);
  });
});
