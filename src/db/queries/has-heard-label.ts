import { TERMINAL_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";
import { buildIssueLane } from "./issue-lane.js";

/**
 * Whether Foreman heard a label on an issue: the issue has a live task, or (once `labeledAt`, GitHub's
 * time of the latest `labeled` event, is known) a task for this label started at or after it, or the
 * inbox holds an `issue_labeled` event for it received at or after it.
 */
export async function hasHeardLabel(
  sql: SqlClient,
  params: { repoId: number; issueNumber: number; label: string; labeledAt: Date | null },
): Promise<boolean> {
  const at = params.labeledAt?.toISOString() ?? null;
  const [row] = await sql<{ heard: boolean }[]>`
    select exists (
      select 1 from tasks
       where repo_id = ${params.repoId} and issue_number = ${params.issueNumber}
         and (state <> all(${TERMINAL_STATES as string[]})
              or (${at}::timestamptz is not null and trigger_label = ${params.label} and created_at >= ${at}::timestamptz))
    ) or (${at}::timestamptz is not null and exists (
      select 1 from webhook_deliveries
       where lane = ${buildIssueLane(params.repoId, params.issueNumber)}
         and event->>'type' = 'issue_labeled' and event->>'label' = ${params.label}
         and received_at >= ${at}::timestamptz
    )) as heard`;
  return row?.heard === true;
}
