import type { SqlClient } from "../client.js";

/**
 * Delete up to `limit` live log lines of agent jobs that finished more than `retentionDays` ago by
 * the database's clock (a running or queued job's lines are never touched). Returns how many went.
 */
export async function deleteFinishedJobLogLines(sql: SqlClient, retentionDays: number, limit: number): Promise<number> {
  const rows = await sql`
    delete from agent_job_log_lines
     where seq in (
       select l.seq from agent_job_log_lines l join agent_jobs j on j.id = l.job_id
        where j.status in ('succeeded', 'failed', 'cancelled')
          and j.finished_at < now() - make_interval(days => ${retentionDays})
        order by l.seq
        limit ${limit}
        for update of l skip locked)
    returning seq`;
  return rows.count;
}
