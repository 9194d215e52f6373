import type { SqlClient } from "../client.js";

/** The trigger label of the issue's latest task whose label was a trigger (for `/foreman retry` after it ended). */
export async function findPreviousTriggerLabel(
  sql: SqlClient,
  repoId: number,
  issueNumber: number,
): Promise<string | null> {
  const [row] = await sql<{ label: string }[]>`
    select trigger_label as label from tasks
     where repo_id = ${repoId} and issue_number = ${issueNumber} and trigger_verdict in ('authorized', 'refused')
     order by created_at desc limit 1`;
  return row?.label ?? null;
}
