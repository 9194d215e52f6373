import type { SqlClient } from "../client.js";

/** One day's tasks (by the day they started, UTC) in the dashboard's KPI charts. */
export interface DailyTaskKpi {
  /** YYYY-MM-DD. */
  day: string;
  started: number;
  merged: number;
  failed: number;
  costUsd: number;
}

/** Per day, the last `days` days that had tasks in the given repositories: started, merged, failed, agent cost. */
export async function listDailyTaskKpis(
  sql: SqlClient,
  repoIds: readonly number[],
  days = 90,
): Promise<DailyTaskKpi[]> {
  if (repoIds.length === 0) return [];
  const rows = await sql<Array<{ day: string; started: number; merged: number; failed: number; costUsd: number }>>`
    select to_char(date_trunc('day', created_at at time zone 'UTC'), 'YYYY-MM-DD') as day,
           count(*)::int as started,
           (count(*) filter (where state = 'merged'))::int as merged,
           (count(*) filter (where state = 'failed'))::int as failed,
           coalesce(sum(agent_cost_usd), 0)::float8 as "costUsd"
      from tasks
     where repo_id = any(${sql.array(repoIds.map(String))}::bigint[])
     group by 1 order by 1 desc limit ${days}`;
  return rows.reverse();
}
