import type { SqlClient } from "../client.js";

/** One compliance record of a task, as the dashboard's timeline shows it. */
export interface TimelineEntry {
  seq: number;
  kind: string;
  actor: string;
  createdAt: Date;
}

/** A task's compliance records after `afterSeq`, oldest first: what happened, who did it, when. */
export async function listTaskTimeline(sql: SqlClient, taskId: string, afterSeq = 0): Promise<TimelineEntry[]> {
  const rows = await sql<Array<Omit<TimelineEntry, "seq"> & { seq: string }>>`
    select seq, kind, actor, created_at as "createdAt"
      from compliance_records where task_id = ${taskId} and seq > ${afterSeq} order by seq`;
  return rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}
