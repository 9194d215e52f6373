import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { REPO } from "../helpers/github-mock.js";
import { startFakeGitHubServer, type FakeGitHubServer, type FakeWrite } from "../helpers/fake-github-server.js";
import { spawnForemanProcess, type ForemanProcess } from "../helpers/spawn-foreman-process.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// Foreman killed with SIGKILL at an effect boundary (GitHub did the write, Foreman never heard back
// and recorded nothing), then started again, or left to a replica that survives. Leases last ten
// minutes: only liveness-based reclaim (docs/adr/0005) can let the task move before the test ends,
// and each case checks by the database's own clock that the dead process's lease had not run out.

const LEASE_MS = 10 * 60_000;
const database = useTestDatabase();
let github: FakeGitHubServer;
const processes: ForemanProcess[] = [];

beforeAll(async () => {
  github = await startFakeGitHubServer(REPO.owner, REPO.name);
});
afterAll(async () => {
  await Promise.all(processes.map((process) => process.kill()));
  await github.close();
});
beforeEach(async () => {
  await Promise.all(processes.splice(0).map((process) => process.kill()));
  await resetTables(database);
  await database.sql`truncate replicas`;
  github.reset();
});

function start(replica: string, deliver: boolean): ForemanProcess {
  const child = spawnForemanProcess({
    databaseUrl: database.url,
    githubHost: github.host,
    replica,
    leaseMs: LEASE_MS,
    deliver,
  });
  processes.push(child);
  return child;
}

/**
 * At the first write `boundary` matches: find the replica whose effect made it (the one leased now),
 * SIGKILL that process before GitHub's answer reaches it, and resolve with that replica and the lease
 * it left behind.
 */
function killAtWrite(
  boundary: (write: FakeWrite) => boolean,
  byReplica: Map<string, ForemanProcess>,
): Promise<{ replica: string; effect: string; leaseUntil: Date }> {
  return new Promise((resolve, reject) => {
    github.setOnWrite(async (write) => {
      if (!boundary(write)) return "answer";
      github.setOnWrite(null);
      try {
        const [leased] = await database.sql<{ locked_by: string; kind: string; lease_until: Date }[]>`
          select locked_by, kind, lease_until from effects where status = 'running'`;
        await byReplica.get(leased!.locked_by)!.kill();
        resolve({ replica: leased!.locked_by, effect: leased!.kind, leaseUntil: leased!.lease_until });
      } catch (error) {
        reject(error as Error);
      }
      return "drop";
    });
  });
}

/** Resolve once the task has its draft PR and status comment and nothing is left to run (a state, not a time). */
async function waitForDraftPr(): Promise<void> {
  for (;;) {
    const [row] = await database.sql<{ done: boolean }[]>`
      select exists (select 1 from tasks where state = 'awaiting_agent' and pr_number is not null)
             and not exists (select 1 from effects where status in ('pending', 'running')) as done`;
    if (row?.done) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Exactly one branch, one draft PR and one status comment on the issue, each created by one write. */
function expectOneOfEach(): void {
  const count = (pattern: RegExp) =>
    github.writes.filter((write) => write.method === "POST" && pattern.test(write.path)).length;
  expect([...github.branches.keys()]).toHaveLength(1);
  expect(github.pulls).toHaveLength(1);
  expect(github.comments.filter((comment) => comment.issue === 1)).toHaveLength(1);
  expect(count(/\/git\/refs$/)).toBe(1);
  expect(count(/\/pulls$/)).toBe(1);
  expect(count(/\/issues\/1\/comments$/)).toBe(1);
  expect(github.unrouted).toEqual([]);
}

/** Whether the dead process's lease was still running by the database's clock (so no expiry freed it). */
async function isStillLeased(leaseUntil: Date): Promise<boolean> {
  const [row] = await database.sql<{ live: boolean }[]>`select ${leaseUntil}::timestamptz > now() as live`;
  return row!.live;
}

const BOUNDARIES: Array<[string, string, (write: FakeWrite) => boolean]> = [
  ["the branch", "ensure_branch", (write) => write.path.endsWith("/git/refs")],
  ["the draft PR", "open_draft_pr", (write) => write.method === "POST" && write.path.endsWith("/pulls")],
  [
    "the status comment",
    "upsert_status_comment",
    (write) => write.method === "POST" && write.path.endsWith("/issues/1/comments"),
  ],
];

describe("recovery after SIGKILL, without waiting for the lease", () => {
  test.each(BOUNDARIES)(
    "killed right after GitHub made %s: the process restarted under the same name moves the task on",
    async (_what, kind, boundary) => {
      const first = start("foreman-1", true);
      const killed = killAtWrite(boundary, new Map([["foreman-1", first]]));
      const dead = await killed;
      expect(dead.effect).toBe(kind);

      start("foreman-1", false);
      await waitForDraftPr();
      expect(await isStillLeased(dead.leaseUntil)).toBe(true);
      expectOneOfEach();
    },
    120_000,
  );

  test("killed right after GitHub made the branch, with a second replica running: the survivor moves the task on", async () => {
    // Both run when the label arrives; whichever leases the branch's effect is the one killed.
    const b = start("foreman-b", false);
    await b.ready;
    const a = start("foreman-a", true);
    const dead = await killAtWrite(
      BOUNDARIES[0]![2],
      new Map([
        ["foreman-a", a],
        ["foreman-b", b],
      ]),
    );
    expect(dead.effect).toBe("ensure_branch");

    await waitForDraftPr();
    expect(await isStillLeased(dead.leaseUntil)).toBe(true);
    expectOneOfEach();
  }, 120_000);
});
