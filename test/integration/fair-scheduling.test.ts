import { beforeEach, describe, expect, test } from "vitest";
import {
  claimNextAgentJob,
  claimNextAgentJobs,
  type AgentJobClaimLimits,
} from "../../src/db/queries/claim-next-agent-job.js";
import { findQueuePosition } from "../../src/db/queries/find-queue-position.js";
import { resetTables, useTestDatabase } from "../helpers/test-database.js";

// The agent job claim against a real PostgreSQL: priority first, then repositories take turns, under
// a global and a per-repository limit; the queue position predicts the order claims start jobs in.

const REPOS = { A: 101, B: 202, C: 303 } as const;
type RepoName = keyof typeof REPOS;
const REPO_BY_ID = new Map<number, RepoName>(Object.entries(REPOS).map(([name, id]) => [id, name as RepoName]));

const database = useTestDatabase();
let sequence = 0;

beforeEach(async () => {
  await resetTables(database);
  sequence = 0;
});

function nextId(): string {
  sequence += 1;
  return `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`;
}

/**
 * One task with one agent job; creation times follow the call order. Every time the claim compares
 * (leases, starts, availability) is on the database's clock, as the claim itself writes them:
 * `startedAgoMs` and `availableInMs` are offsets from the database's now(), never the test process's.
 */
async function queueJob(
  repo: RepoName,
  options: {
    priority?: number;
    state?: string;
    status?: "queued" | "running" | "succeeded";
    startedAgoMs?: number;
    availableInMs?: number;
  } = {},
): Promise<string> {
  const taskId = nextId();
  const jobId = nextId();
  const createdAgoSeconds = 100_000 - sequence;
  const status = options.status ?? "queued";
  const startedAgoSeconds =
    options.startedAgoMs !== undefined ? options.startedAgoMs / 1000 : status === "queued" ? null : createdAgoSeconds;
  await database.sql`
    insert into tasks (id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, issue_title, type,
                       trigger_label, triggered_by, state, priority, created_at, updated_at)
    values (${taskId}, 1, ${REPOS[repo]}, 'acme', ${repo.toLowerCase()}, 'main', ${sequence}, 'Do a thing', 'feature',
            'foreman', 'octocat', ${options.state ?? "awaiting_agent"}, ${options.priority ?? 0},
            now() - make_interval(secs => ${createdAgoSeconds}), now() - make_interval(secs => ${createdAgoSeconds}))`;
  await database.sql`
    insert into agent_jobs (id, task_id, role, profile, base_sha, log_token, status, created_at, available_at, started_at, lease_until)
    values (${jobId}, ${taskId}, 'coder', 'claude-code', 'base-sha', ${`token-${jobId}`}, ${status}, now() - make_interval(secs => ${createdAgoSeconds}),
            now() + make_interval(secs => ${(options.availableInMs ?? 0) / 1000}),
            now() - make_interval(secs => ${startedAgoSeconds}),
            case when ${status === "running"} then now() + interval '60 seconds' end)`;
  return jobId;
}

/** Five tasks per repository, queued repository by repository: the worst case for first-in, first-out. */
async function queueFivePerRepo(): Promise<Map<string, RepoName>> {
  const repoOf = new Map<string, RepoName>();
  for (const repo of ["A", "B", "C"] as const) {
    for (let n = 0; n < 5; n += 1) repoOf.set(await queueJob(repo), repo);
  }
  return repoOf;
}

async function claim(limits: Partial<AgentJobClaimLimits> = {}) {
  return claimNextAgentJob(database.sql, "test-replica", 60_000, {
    maxRunning: 2,
    maxPerRepo: 2,
    paused: false,
    ...limits,
  });
}

async function finishJob(jobId: string): Promise<void> {
  await database.sql`update agent_jobs set status = 'succeeded', finished_at = now(), lease_until = null where id = ${jobId}`;
}

async function countRunning(): Promise<Record<string, number>> {
  const rows = await database.sql<{ repo_id: string; running: number }[]>`
    select t.repo_id, count(*)::int as running from agent_jobs j join tasks t on t.id = j.task_id
     where j.status = 'running' group by t.repo_id`;
  return Object.fromEntries(rows.map((row) => [REPO_BY_ID.get(Number(row.repo_id))!, row.running]));
}

/** Every queued job's predicted place, as job ids in that order. */
async function listByPosition(ids: Iterable<string>): Promise<string[]> {
  const placed: Array<[string, number]> = [];
  for (const id of ids) {
    const position = await findQueuePosition(database.sql, id);
    if (position !== null) placed.push([id, position]);
  }
  placed.sort((a, b) => a[1] - b[1]);
  expect(placed.map(([, position]) => position)).toEqual(placed.map((_, index) => index + 1));
  return placed.map(([id]) => id);
}

describe("claimNextAgentJob", () => {
  test("3 repositories × 5 tasks under a global limit of 2: starts take turns between repositories", async () => {
    const repoOf = await queueFivePerRepo();
    const starts: RepoName[] = [];
    const running: string[] = [];
    let finished = 0;
    while (finished < 15) {
      for (;;) {
        const [predicted] = await listByPosition(repoOf.keys());
        const claimed = await claim();
        if (!claimed) break;
        // What the status comment calls "1st in the queue" is what starts next.
        expect(claimed.id).toBe(predicted);
        starts.push(repoOf.get(claimed.id)!);
        running.push(claimed.id);
        repoOf.delete(claimed.id);
      }
      expect(running).toHaveLength(Math.min(2, 15 - finished));
      await finishJob(running.shift()!);
      finished += 1;
    }
    expect(starts.join("")).toBe("ABCABCABCABCABC");
    // No repository starts its (k+1)-th job before every repository started its k-th.
    const nth = starts.map((repo, index) => starts.slice(0, index + 1).filter((name) => name === repo).length);
    expect(nth).toEqual([...nth].sort((a, b) => a - b));
  });

  test("several claims in one transaction lease what as many claims in a row would, under both limits", async () => {
    const repoOf = await queueFivePerRepo();
    const predicted = await listByPosition(repoOf.keys());
    const claimed = await claimNextAgentJobs(
      database.sql,
      "test-replica",
      60_000,
      { maxRunning: 5, maxPerRepo: 2, paused: false },
      8,
    );
    // Five at most (the global limit), two per repository at most, in the queue's order.
    expect(claimed.map((job) => job.id)).toEqual(predicted.slice(0, 5));
    expect(claimed.map((job) => repoOf.get(job.id)).join("")).toBe("ABCAB");
    expect(await countRunning()).toEqual({ A: 2, B: 2, C: 1 });
  });

  test("a priority:high task jumps the queue, even when queued last", async () => {
    const repoOf = await queueFivePerRepo();
    const urgent = await queueJob("C", { priority: 1 });
    const whenever = await queueJob("A", { priority: -1 });
    repoOf.set(urgent, "C").set(whenever, "A");
    expect(await findQueuePosition(database.sql, urgent)).toBe(1);
    expect(await findQueuePosition(database.sql, whenever)).toBe(17);
    expect((await claim())?.id).toBe(urgent);
    // Then the turns go on: C has a job running, so A and B come first.
    const next = await claim();
    expect(repoOf.get(next!.id)).toBe("A");
  });

  test("the per-repository limit holds while the global limit has room", async () => {
    const repoOf = await queueFivePerRepo();
    const starts: RepoName[] = [];
    for (let claimed = await claim({ maxRunning: 10 }); claimed; claimed = await claim({ maxRunning: 10 }))
      starts.push(repoOf.get(claimed.id)!);
    expect(starts.join("")).toBe("ABCABC");
    expect(await countRunning()).toEqual({ A: 2, B: 2, C: 2 });
    // A job waiting for its repository's slot keeps its place in the queue.
    const [firstWaiting] = await listByPosition(repoOf.keys());
    expect(firstWaiting).toBeDefined();
  });

  test("the global limit holds", async () => {
    await queueFivePerRepo();
    expect(await claim({ maxRunning: 3, maxPerRepo: 5 })).not.toBeNull();
    expect(await claim({ maxRunning: 3, maxPerRepo: 5 })).not.toBeNull();
    expect(await claim({ maxRunning: 3, maxPerRepo: 5 })).not.toBeNull();
    expect(await claim({ maxRunning: 3, maxPerRepo: 5 })).toBeNull();
  });

  test("paused: nothing is claimed and the queue is untouched", async () => {
    await queueFivePerRepo();
    expect(await claim({ paused: true, maxRunning: 10 })).toBeNull();
    expect(await countRunning()).toEqual({});
  });
});

describe("findQueuePosition", () => {
  test("predicts the exact order of claims, with running jobs, past starts and mixed priorities", async () => {
    // A runs one job; B started one most recently and finished it; C never ran a job.
    await queueJob("A", { status: "running", startedAgoMs: 60_000 });
    await queueJob("B", { status: "succeeded", startedAgoMs: 30_000 });
    const queued = [
      await queueJob("A"),
      await queueJob("B"),
      await queueJob("A", { priority: -1 }),
      await queueJob("C"),
      await queueJob("B", { priority: 1 }),
      await queueJob("A"),
      await queueJob("C", { priority: 1 }),
      await queueJob("B"),
      await queueJob("C"),
      await queueJob("A", { priority: 1 }),
      await queueJob("B"),
      await queueJob("C", { priority: -1 }),
    ];
    const frozen = await queueJob("C", { state: "frozen" });
    const backingOff = await queueJob("B", { availableInMs: 3_600_000 });
    const predicted = await listByPosition(queued);
    expect(predicted).toHaveLength(queued.length);

    const claimed: string[] = [];
    for (
      let job = await claim({ maxRunning: 100, maxPerRepo: 100 });
      job;
      job = await claim({ maxRunning: 100, maxPerRepo: 100 })
    )
      claimed.push(job.id);
    expect(claimed).toEqual(predicted);
    // Held tasks and jobs in a retry's backoff are not waiting for a slot; neither is a started job.
    expect(await findQueuePosition(database.sql, frozen)).toBeNull();
    expect(await findQueuePosition(database.sql, backingOff)).toBeNull();
    expect(await findQueuePosition(database.sql, claimed[0]!)).toBeNull();
    expect(await findQueuePosition(database.sql, "00000000-0000-4000-8000-999999999999")).toBeNull();
  });
});
