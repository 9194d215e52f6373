import type { SqlClient } from "../client.js";

/** A queued or running agent job, with its task, as the dashboard's queue shows it. */
export interface OpenAgentJob {
  id: string;
  taskId: string;
  repo: string;
  issueNumber: number;
  role: string;
  profile: string;
  status: "queued" | "running";
  attempt: number;
  availableAt: Date;
  startedAt: Date | null;
}

/** The queued and running agent jobs of the given repositories: running first, then in queue order. */
export async function listOpenAgentJobs(sql: SqlClient, repoIds: readonly number[]): Promise<OpenAgentJob[]> {
  if (repoIds.length === 0) return [];
  return sql<OpenAgentJob[]>`
    select j.id, j.task_id as "taskId", t.repo_owner || '/' || t.repo_name as repo, t.issue_number as "issueNumber",
           j.role, j.profile, j.status, j.attempt, j.available_at as "availableAt", j.started_at as "startedAt"
      from agent_jobs j join tasks t on t.id = j.task_id
     where j.status in ('queued', 'running')
       and t.repo_id = any(${sql.array(repoIds.map(String))}::bigint[])
     order by j.status = 'running' desc, t.priority desc, j.available_at, j.id`;
}
