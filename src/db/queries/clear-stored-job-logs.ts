import { TERMINAL_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";

/**
 * Clear up to `limit` stored job logs (`agent_jobs.log`) of jobs that finished more than
 * `retentionDays` ago, of ended tasks, whose copy is evidence: an `agent_job.finished` record of the
 * job names an `agent-log` artifact, which stays in the artifact store. A log no record holds a copy
 * of is kept. Returns how many were cleared.
 */
export async function clearStoredJobLogs(sql: SqlClient, retentionDays: number, limit: number): Promise<number> {
  const rows = await sql`
    update agent_jobs set log = null
     where id in (
       select j.id from agent_jobs j join tasks t on t.id = j.task_id
        where j.log is not null
          and j.status in ('succeeded', 'failed', 'cancelled')
          and j.finished_at < now() - make_interval(days => ${retentionDays})
          and t.state in ${sql([...TERMINAL_STATES])}
          and exists (
            select 1 from compliance_records r
             where r.task_id = j.task_id and r.kind = 'agent_job.finished'
               and r.payload->>'jobId' = j.id::text
               and r.payload->'artifacts' @> '[{"kind": "agent-log"}]'::jsonb)
        order by j.id
        limit ${limit}
        for update of j skip locked)
    returning id`;
  return rows.count;
}
