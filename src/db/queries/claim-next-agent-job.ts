import type { Sql } from "postgres";
import { HELD_STATES, TERMINAL_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";
import type { TaskRow } from "./task-row.js";

// Claims take turns on this lock so the global and per-repository limits hold across replicas.
// Distinct from every other advisory lock key (migrations 7_340_011, chain 7_340_012, checkpoints 7_340_013).
const JOB_CLAIM_LOCK_KEY = 7_340_014;

// State lists as SQL literals (constants, never input): with a parameter instead, a generic plan
// could not use the partial index of unfinished tasks (tasks_one_active_per_issue) and would read
// every task and job of the repositories ever run.
const HELD_LIST = formatStateList(HELD_STATES);
const TERMINAL_LIST = formatStateList(TERMINAL_STATES);

function formatStateList(states: readonly string[]): string {
  return `(${states.map((state) => `'${state.replace(/[^a-z_]/g, "")}'`).join(", ")})`;
}

/** A leased agent job with its task. */
export interface ClaimedAgentJob {
  id: string;
  role: string;
  profile: string;
  baseSha: string;
  attempt: number;
  logToken: string;
  task: TaskRow;
  /** The GitHub delivery behind it and the span that stored it (null when unknown). */
  causeDeliveryId?: string | null;
  traceparent?: string | null;
}

/** The limits a claim obeys. */
export interface AgentJobClaimLimits {
  /** Jobs running with a live lease anywhere, across all repositories and replicas. */
  maxRunning: number;
  /** Jobs running with a live lease for one repository. */
  maxPerRepo: number;
  /** Foreman is paused: nothing new starts. */
  paused: boolean;
}

/**
 * Lease the next queued job in the fair order (`selectFairAgentJobQueue`) of a task that is not held
 * (frozen tasks wait), skipping repositories that already run `maxPerRepo` jobs, unless `maxRunning`
 * jobs already run with a live lease anywhere or Foreman is paused. Serialised by an advisory lock,
 * so two replicas cannot both take the last slot.
 */
export async function claimNextAgentJob(
  sql: SqlClient,
  replica: string,
  leaseMs: number,
  limits: AgentJobClaimLimits,
): Promise<ClaimedAgentJob | null> {
  return (await claimNextAgentJobs(sql, replica, leaseMs, limits, 1))[0] ?? null;
}

/**
 * Up to `count` claims of `claimNextAgentJob` in one transaction, in the order they would have run
 * one after another: each statement sees the jobs the ones before it leased. The lock and every
 * claim are sent together (pipelined on the transaction's connection), and the count of running
 * jobs is part of each claim, so `count` claims cost one round trip after BEGIN. Ten jobs queued
 * at once were leased one transaction after another before, the last seconds after the first.
 */
export async function claimNextAgentJobs(
  sql: SqlClient,
  replica: string,
  leaseMs: number,
  limits: AgentJobClaimLimits,
  count: number,
): Promise<ClaimedAgentJob[]> {
  if (limits.paused || count < 1) return [];
  return (sql as Sql).begin(async (tx) => {
    const lock = tx`select pg_advisory_xact_lock(${JOB_CLAIM_LOCK_KEY})`.execute();
    const claims = Array.from({ length: count }, () => claimOne(tx, replica, leaseMs, limits).execute());
    const [, ...claimed] = await Promise.all([lock, ...claims]);
    return claimed.flatMap((rows) => rows.map(toClaimedAgentJob));
  });
}

// One claim: the first job of the fair queue whose repository has room, if fewer than maxRunning run.
function claimOne(tx: SqlClient, replica: string, leaseMs: number, limits: AgentJobClaimLimits) {
  return tx`
      update agent_jobs j
         set status = 'running', replica = ${replica}, started_at = coalesce(j.started_at, now()),
             lease_until = now() + make_interval(secs => ${leaseMs / 1000})
        from tasks t
       where j.id = (
               select q.id from agent_jobs q join (${selectFairAgentJobQueue(tx)}) f on f.id = q.id
                where f.repo_running < ${limits.maxPerRepo}
                order by f.position
                limit 1
                  for update of q skip locked)
         and t.id = j.task_id
         and (select count(*) from agent_jobs r where r.status = 'running' and r.lease_until > now()) < ${limits.maxRunning}
      returning j.id, j.role, j.profile, j.base_sha, j.attempt, j.log_token, to_jsonb(t) as task, j.cause_delivery_id, j.traceparent`;
}

function toClaimedAgentJob(row: Record<string, unknown>): ClaimedAgentJob {
  return {
    id: String(row.id),
    role: String(row.role),
    profile: String(row.profile),
    baseSha: String(row.base_sha),
    attempt: Number(row.attempt),
    logToken: String(row.log_token),
    task: row.task as TaskRow,
    causeDeliveryId: row.cause_delivery_id === null ? null : String(row.cause_delivery_id),
    traceparent: row.traceparent === null ? null : String(row.traceparent),
  };
}

/**
 * The claimable queued jobs (available now, task not held) as rows `(id, repo_running, position)`:
 * `position` is the 1-based order in which claims would start them if none finished, and
 * `repo_running` what the job's repository runs now with a live lease. The claim and
 * `findQueuePosition` both read this one definition.
 *
 * The order a single claim follows: task priority (desc); then the repository with fewer running
 * jobs; then the repository whose latest job start is oldest (never started first); then the job's
 * creation. Numbering the whole queue by that order alone would put a repository's jobs one after
 * the other, yet each claim changes its repository's running count and latest start, so starts
 * take turns. `position` therefore ranks what the claims will do: a job's `round` is its
 * repository's running count plus its queued predecessors in the same repository; within a
 * priority and a round, the repository whose previous start (real, or earlier in this ranking)
 * came first goes first, compared through the priorities of those predecessors, most recent first
 * (`prior`; a shorter list means the repository had more running jobs and reached the round
 * without queued predecessors). For the first job this is exactly the single-claim order.
 *
 * A repository's running jobs and latest start are those of its unfinished tasks: a finished task's
 * job is being stopped, and its starts are history. That keeps each claim on the index of unfinished
 * tasks rather than reading every job the repository ever ran.
 */
export function selectFairAgentJobQueue(sql: SqlClient) {
  return sql`
    with queued as (
      select q.id, q.created_at, u.repo_id, u.priority
        from agent_jobs q join tasks u on u.id = q.task_id
       where q.status = 'queued' and q.available_at <= now() and u.state not in ${sql.unsafe(HELD_LIST)}
    ), load as (
      select t.repo_id,
             (count(*) filter (where j.status = 'running' and j.lease_until > now()))::int as running,
             max(j.started_at) as last_started
        from tasks t join agent_jobs j on j.task_id = t.id
       where t.repo_id in (select repo_id from queued) and t.state not in ${sql.unsafe(TERMINAL_LIST)}
       group by t.repo_id
    ), chained as (
      select q.id, q.repo_id, q.priority, coalesce(l.running, 0) as repo_running, l.last_started,
             coalesce(l.running, 0) + row_number() over w - 1 as round,
             array_agg(-q.priority) over w as chain,
             first_value(q.created_at) over w as first_created_at
        from queued q left join load l on l.repo_id = q.repo_id
      window w as (partition by q.repo_id order by q.priority desc, q.created_at, q.id)
    ), ranked as (
      select c.*,
             array(select p from unnest(c.chain) with ordinality as e(p, n) where n < cardinality(c.chain) order by n desc) as prior
        from chained c
    )
    select id, repo_running,
           row_number() over (order by priority desc, round, prior, last_started nulls first, first_created_at, repo_id, id)::int as position
      from ranked`;
}
