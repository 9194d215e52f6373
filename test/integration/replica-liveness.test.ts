import postgres from "postgres";
import { randomUUID } from "node:crypto";
import { beforeEach, describe, expect, test } from "vitest";
import { findLiveAgentJobIds } from "../../src/db/queries/find-live-agent-job-ids.js";
import { findStaleAgentJobs } from "../../src/db/queries/find-stale-agent-jobs.js";
import { insertEffects } from "../../src/db/queries/insert-effects.js";
import { insertTask } from "../../src/db/queries/insert-task.js";
import { releaseExpiredLeases } from "../../src/db/queries/release-expired-effect-leases.js";
import { takeReplicaLock } from "../../src/db/queries/take-replica-lock.js";
import { ReplicaLiveness } from "../../src/engine/replica-liveness.js";
import { EffectKind } from "../../src/workflow/effects.js";
import { makePipelineTask } from "../unit/github/pipeline-fixtures.js";
import { REPO } from "../helpers/github-mock.js";
import { INSTALLATION_ID } from "../helpers/payloads.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// A lease held by a replica that is no longer alive is free at once: not after it expires. Leases
// here last ten minutes, so only the liveness check can free them within a test.

const database = useTestDatabase();
const silent = { warn: () => {}, info: () => {} };

beforeEach(async () => {
  await resetTables(database);
  await database.sql`truncate replicas`;
});

/** A replica process as PostgreSQL sees it: a session holding the replica's liveness lock. Ending it is the process dying. */
async function startReplicaSession(name: string): Promise<{ held: boolean; die(): Promise<void> }> {
  const session = postgres(database.url, { max: 1, onnotice: () => {} });
  const held = await takeReplicaLock(session, name);
  const [backend] = await session<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const pid = backend!.pid;
  return {
    held,
    die: async () => {
      await session.end({ timeout: 0 });
      // The server process ends a moment after its connection closes; its locks go with it.
      await waitForBackendToEnd(pid);
    },
  };
}

/** Waits until PostgreSQL's backend `pid` has exited (a state, not a time). */
async function waitForBackendToEnd(pid: number): Promise<void> {
  for (;;) {
    const [row] = await database.sql`select count(*)::int as n from pg_stat_activity where pid = ${pid}`;
    if (row?.n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A task with one effect leased for ten minutes by `owner`, and one job of it running under the same lease. */
async function leaseWorkTo(owner: string): Promise<{ jobId: string }> {
  const task = makePipelineTask("awaiting_ci", {
    repo: { installationId: INSTALLATION_ID, id: REPO.id, owner: REPO.owner, name: REPO.name, defaultBranch: "master" },
    jobId: null,
  });
  await insertTask(database.sql, task);
  await insertEffects(database.sql, task.id, [{ kind: EffectKind.upsertStatusComment }]);
  await database.sql`
    update effects set status = 'running', attempts = 1, locked_by = ${owner}, lease_until = now() + interval '10 minutes'`;
  const jobId = randomUUID();
  await database.sql`
    insert into agent_jobs (id, task_id, role, profile, base_sha, log_token, status, replica, started_at, lease_until)
    values (${jobId}, ${task.id}, 'coder', 'claude-code', 'base-sha', ${`token-${jobId}`}, 'running', ${owner}, now(),
            now() + interval '10 minutes')`;
  return { jobId };
}

describe("leases of dead replicas", () => {
  // 'abc' hashes to a negative int4: the lock's key in pg_locks is its unsigned form.
  test.each(["replica-a", "abc"])(
    "a live replica keeps its leases; once its session ends they are free at once (%s)",
    async (name) => {
      const replica = await startReplicaSession(name);
      expect(replica.held).toBe(true);
      const { jobId } = await leaseWorkTo(name);

      expect(await releaseExpiredLeases(database.sql)).toBe(0);
      expect(await findStaleAgentJobs(database.sql)).toEqual([]);
      expect(await findLiveAgentJobIds(database.sql)).toEqual(new Set([`${jobId}-1`]));

      await replica.die();
      // The lease still has ten minutes to run: the liveness lock alone frees it.
      const [lease] = await database.sql`select lease_until > now() + interval '9 minutes' as long from agent_jobs`;
      expect(lease).toEqual({ long: true });
      expect((await findStaleAgentJobs(database.sql)).map((job) => job.id)).toEqual([jobId]);
      expect(await findLiveAgentJobIds(database.sql)).toEqual(new Set());
      expect(await releaseExpiredLeases(database.sql)).toBe(1);
      expect(await database.sql`select status, locked_by, lease_until from effects`).toEqual([
        { status: "pending", locked_by: null, lease_until: null },
      ]);
    },
  );

  test("an owner that never announced its liveness (an older replica) keeps its lease until it expires", async () => {
    await leaseWorkTo("replica-of-an-older-version");
    expect(await releaseExpiredLeases(database.sql)).toBe(0);
    expect(await findStaleAgentJobs(database.sql)).toEqual([]);
    await database.sql`update effects set lease_until = now() - interval '1 second'`;
    expect(await releaseExpiredLeases(database.sql)).toBe(1);
  });

  test("a process restarted under the same name frees its previous process's leases at start, and only then", async () => {
    const { jobId } = await leaseWorkTo("foreman-1");
    const restarted = await startReplicaSession("foreman-1");
    expect(restarted.held).toBe(true);
    // A periodic look sees the name alive; the start-time look knows the leases are the old process's.
    expect(await releaseExpiredLeases(database.sql)).toBe(0);
    expect(await findLiveAgentJobIds(database.sql, "foreman-1")).toEqual(new Set());
    expect((await findStaleAgentJobs(database.sql, "foreman-1")).map((job) => job.id)).toEqual([jobId]);
    expect(await releaseExpiredLeases(database.sql, "foreman-1")).toBe(1);
    await restarted.die();
  });

  test("a second live process cannot take a name that is held", async () => {
    const first = await startReplicaSession("foreman-1");
    const second = await startReplicaSession("foreman-1");
    expect([first.held, second.held]).toEqual([true, false]);
    await first.die();
    await second.die();
  });
});

describe("ReplicaLiveness", () => {
  test("holds the lock while it runs, says whether its own old leases are free, and gives the name up on stop", async () => {
    const first = new ReplicaLiveness(database.url, "foreman-1", silent, 20);
    await first.start();
    const second = new ReplicaLiveness(database.url, "foreman-1", silent, 20);
    await second.start();
    expect([first.held, first.restarted, second.held, second.restarted]).toEqual([true, "foreman-1", false, null]);

    await leaseWorkTo("foreman-1");
    expect(await releaseExpiredLeases(database.sql)).toBe(0);
    await first.stop();
    // The second process takes the name at its next check; its own start did not free anything.
    while (!second.held) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(second.restarted).toBeNull();
    expect(await releaseExpiredLeases(database.sql)).toBe(0);
    await second.stop();
    expect(await releaseExpiredLeases(database.sql)).toBe(1);
  });

  test("takes its lock again after its session was cut", async () => {
    // No periodic check in this test: it calls check() itself.
    const liveness = new ReplicaLiveness(database.url, "foreman-1", silent, 600_000);
    await liveness.start();
    await leaseWorkTo("foreman-1");
    await database.sql`
      select pg_terminate_backend(pid, 5000) from pg_stat_activity
       where application_name = 'foreman-liveness' and datname = current_database()`;
    // Meanwhile the name is dead to the others: its leases are free.
    expect(await releaseExpiredLeases(database.sql)).toBe(1);

    await liveness.check();
    expect(liveness.held).toBe(true);
    await database.sql`update effects set status = 'running', locked_by = 'foreman-1', lease_until = now() + interval '10 minutes'`;
    expect(await releaseExpiredLeases(database.sql)).toBe(0);
    await liveness.stop();
  });
});
