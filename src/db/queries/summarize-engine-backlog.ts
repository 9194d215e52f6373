import type { SqlClient } from "../client.js";

/** What waits in the engine's queues right now, by the database's clock. */
export interface EngineBacklog {
  /** Inbox events due and not yet processed, and how long the oldest of them has been due (0 when none). */
  inboxPending: number;
  inboxLagSeconds: number;
  /** Outbox effects pending or running, and the age of the oldest pending one since it became due (0 when none). */
  effectsQueued: number;
  effectsOldestAgeSeconds: number;
  /** Agent jobs running anywhere. */
  jobsRunning: number;
  /** Per repository: agent jobs queued, and how long the oldest has waited since it became due. */
  queuedByRepository: Array<{ repository: string; queued: number; oldestWaitSeconds: number }>;
}

/** Read the inbox lag, the outbox and the agent job queue in one round trip. */
export async function summarizeEngineBacklog(sql: SqlClient): Promise<EngineBacklog> {
  const [row] = await sql<
    Array<{
      inbox_pending: string;
      inbox_lag: number | null;
      effects_queued: string;
      effects_oldest: number | null;
      jobs_running: string;
      queued: Array<{ repository: string; queued: number; oldest: number }> | null;
    }>
  >`
    select
      (select count(*) from webhook_deliveries where status = 'pending' and available_at <= now()) as inbox_pending,
      (select extract(epoch from now() - min(available_at))::float8 from webhook_deliveries
        where status = 'pending' and available_at <= now()) as inbox_lag,
      (select count(*) from effects where status in ('pending', 'running')) as effects_queued,
      (select extract(epoch from now() - min(available_at))::float8 from effects
        where status = 'pending' and available_at <= now()) as effects_oldest,
      (select count(*) from agent_jobs where status = 'running') as jobs_running,
      (select json_agg(json_build_object('repository', repository, 'queued', queued, 'oldest', oldest) order by repository)
        from (
          select t.repo_owner || '/' || t.repo_name as repository, count(*) as queued,
            greatest(extract(epoch from now() - min(j.available_at)), 0)::float8 as oldest
          from agent_jobs j join tasks t on t.id = j.task_id
          where j.status = 'queued'
          group by 1
        ) per_repo) as queued`;
  return {
    inboxPending: Number(row!.inbox_pending),
    inboxLagSeconds: Math.max(0, row!.inbox_lag ?? 0),
    effectsQueued: Number(row!.effects_queued),
    effectsOldestAgeSeconds: Math.max(0, row!.effects_oldest ?? 0),
    jobsRunning: Number(row!.jobs_running),
    queuedByRepository: (row!.queued ?? []).map((item) => ({
      repository: item.repository,
      queued: Number(item.queued),
      oldestWaitSeconds: Number(item.oldest),
    })),
  };
}
