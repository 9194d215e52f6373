import { TERMINAL_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";

/** A live task the sweep checks against GitHub: its CI (when awaiting it) and its PR's end. */
export interface TaskToReconcile {
  id: string;
  installationId: number;
  repo: { id: number; owner: string; name: string; defaultBranch: string };
  issueNumber: number;
  state: string;
  headSha: string | null;
  prNumber: number | null;
}

/** Live tasks that await CI on a known head or have a PR. */
export async function listTasksToReconcile(sql: SqlClient): Promise<TaskToReconcile[]> {
  const rows = await sql<
    {
      id: string;
      installation_id: string;
      repo_id: string;
      repo_owner: string;
      repo_name: string;
      default_branch: string;
      issue_number: number;
      state: string;
      head_sha: string | null;
      pr_number: number | null;
    }[]
  >`
    select id, installation_id, repo_id, repo_owner, repo_name, default_branch, issue_number, state, head_sha, pr_number
      from tasks
     where state <> all(${TERMINAL_STATES as string[]})
       and ((state = 'awaiting_ci' and head_sha is not null) or pr_number is not null)
     order by installation_id, created_at`;
  return rows.map((row) => ({
    id: String(row.id),
    installationId: Number(row.installation_id),
    repo: { id: Number(row.repo_id), owner: row.repo_owner, name: row.repo_name, defaultBranch: row.default_branch },
    issueNumber: Number(row.issue_number),
    state: row.state,
    headSha: row.head_sha,
    prNumber: row.pr_number === null ? null : Number(row.pr_number),
  }));
}
