import type { SqlClient } from "../client.js";

/**
 * The diff artifacts of a shadow-mode task's code steps, oldest first: in shadow mode nothing is
 * pushed, so a later reviewer reads the change from the evidence Foreman kept.
 */
export async function findShadowDiffRefs(
  sql: SqlClient,
  taskId: string,
): Promise<Array<{ role: string; sha256: string }>> {
  const rows = await sql<Array<{ role: string; sha256: string }>>`
    select r.payload->>'role' as role, a->>'sha256' as sha256
      from compliance_records r, jsonb_array_elements(r.payload->'artifacts') a
     where r.task_id = ${taskId} and r.kind = 'agent_job.finished' and r.payload->>'push' = 'skipped_shadow'
       and a->>'kind' = 'agent-diff'
     order by r.seq`;
  return rows.map((row) => ({ role: String(row.role), sha256: String(row.sha256) }));
}
