import type { Env } from "../../src/config/env.js";
import type { Database } from "../../src/db/client.js";
import type { FakeGitHubServer, FaultPlan } from "../helpers/fake-github-server.js";
import { buildIssuesPayload } from "../helpers/payloads.js";
import { buildTestEnv, startTestForeman, type TestForeman } from "../helpers/test-foreman.js";
import { resetTables } from "../helpers/test-database.js";

/** One line of the fault table: what a run under one fault achieved. */
export interface FaultRow {
  fault: string;
  tasks: number;
  finished: number;
  duplicates: number;
  lost: number;
  /** p95 of label-to-draft-PR in ms, or null when not measured. */
  p95Ms: number | null;
  /** p95 minus the clean run's p95, in ms, or null when not measured. */
  addedP95Ms: number | null;
  /** Faults injected (requests, restarts, refused writes). */
  injected: number;
}

declare module "vitest" {
  interface TaskMeta {
    faultRow?: FaultRow;
  }
}

/** What one run of the loop left: per task, whether and when it got its draft PR, and GitHub's copies. */
export interface LoopRun {
  tasks: number;
  finished: number;
  lost: number;
  duplicates: number;
  durationsMs: number[];
}

/** The environment of a fault run: GitHub at the fake server, a short `GITHUB_TIMEOUT_MS`, the default attempts. */
export function buildFaultEnv(github: FakeGitHubServer, overrides: Record<string, string> = {}): Env {
  return buildTestEnv({
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    GITHUB_TIMEOUT_MS: "1500",
    EFFECT_MAX_ATTEMPTS: "6",
    ...overrides,
  });
}

/**
 * Start Foreman with production's HTTP retries of reads (waits scaled down), but without
 * plugin-throttling: it spaces writes a second apart per installation, which would make the suite
 * minutes long. Rate-limit answers then fail the attempt and go to the effect's durable retry.
 * `agents: true` runs agent jobs too (on the daemon `DOCKER_HOST` names).
 */
export function startFaultForeman(
  database: Database,
  env: Env,
  options: { agents?: boolean } = {},
): Promise<TestForeman> {
  return startTestForeman(database, {
    env,
    agents: options.agents ?? false,
    octokitTuning: { retries: 2, retryAfterBaseValue: 20, throttle: false },
  });
}

/**
 * Label `tasks` issues, then wait until nothing is left to run (no pending inbox row, no pending or
 * running effect, however far its retry), timing each task from its label to its draft PR. `during`
 * runs once all labels are delivered, alongside the loop (a restart, say).
 */
export async function runLoop(
  database: Database,
  github: FakeGitHubServer,
  foreman: TestForeman,
  tasks: number,
  during?: () => Promise<void>,
): Promise<LoopRun> {
  const startedAt = new Map<number, number>();
  const doneAt = new Map<number, number>();
  for (let issue = 1; issue <= tasks; issue += 1) {
    startedAt.set(issue, performance.now());
    const payload = buildIssuesPayload({ action: "labeled", label: "agent:ready", issueNumber: issue });
    await foreman.receive("issues", payload, `fault-delivery-${issue}-${Date.now()}`);
  }
  let sideDone = during === undefined;
  let sideError: unknown = null;
  const side = during?.().then(
    () => {
      sideDone = true;
    },
    (error: unknown) => {
      sideError = error;
      sideDone = true;
    },
  );
  for (;;) {
    if (sideError) throw sideError as Error;
    try {
      const rows = await database.sql<{ issue_number: number }[]>`
        select issue_number from tasks where state = 'awaiting_agent' and pr_number is not null`;
      for (const row of rows) if (!doneAt.has(row.issue_number)) doneAt.set(row.issue_number, performance.now());
      const [open] = await database.sql<{ open: number }[]>`
        select (select count(*) from effects where status in ('pending', 'running'))
             + (select count(*) from webhook_deliveries where status = 'pending') as open`;
      if (Number(open?.open) === 0 && sideDone) break;
    } catch {
      // The database is being restarted by `during`: look again.
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await side;
  const durationsMs = [...doneAt].map(([issue, at]) => at - startedAt.get(issue)!);
  return { tasks, finished: doneAt.size, lost: tasks - doneAt.size, duplicates: countDuplicates(github), durationsMs };
}

/** Copies beyond the first on GitHub: status comments per issue, pull requests per branch, branches per issue. */
export function countDuplicates(github: FakeGitHubServer): number {
  const extra = (keys: Array<string | number>) => {
    const counts = new Map<string | number, number>();
    for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
    return [...counts.values()].reduce((sum, count) => sum + count - 1, 0);
  };
  const branchIssues = [...github.branches.keys()].map((branch) => /(\d+)/.exec(branch)?.[1] ?? branch);
  return (
    extra(github.comments.map((comment) => comment.issue)) +
    extra(github.pulls.map((pr) => pr.head)) +
    extra(branchIssues)
  );
}

/** The 95th percentile (nearest rank) of some durations, in whole ms. */
export function percentile95(durationsMs: number[]): number | null {
  if (durationsMs.length === 0) return null;
  const sorted = [...durationsMs].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!);
}

/** A table row from a run under a fault and the clean run it is compared with. */
export function buildFaultRow(fault: string, run: LoopRun, clean: LoopRun | null, injected: number): FaultRow {
  const p95 = percentile95(run.durationsMs);
  const base = clean ? percentile95(clean.durationsMs) : null;
  return {
    fault,
    tasks: run.tasks,
    finished: run.finished,
    duplicates: run.duplicates,
    lost: run.lost,
    p95Ms: p95,
    addedP95Ms: p95 !== null && base !== null ? p95 - base : null,
    injected,
  };
}

/** Prepare a run: empty tables, a GitHub with no state and the given faults. */
export async function resetWorld(database: Database, github: FakeGitHubServer, plan: FaultPlan | null): Promise<void> {
  await resetTables(database);
  github.reset();
  github.setFaults(plan);
}
