import { ACTIVE_STATES } from "../../workflow/states.js";
import type { SqlClient } from "../client.js";
import type { TaskRow } from "./task-row.js";

/** Which task an event is about: by id, by issue (the active one), or by pull request number. */
export type TaskLookup =
  | { by: "id"; taskId: string }
  | { by: "issue"; repoId: number; issueNumber: number }
  | { by: "pull_request"; repoId: number; prNumber: number }
  | { by: "branch"; repoId: number; branch: string }
  /** The issue's newest task whose label was a trigger, whatever its state (a command about a task that ended). */
  | { by: "issue_latest"; repoId: number; issueNumber: number };

/** Find the task an event concerns and lock its row for the rest of the transaction. */
export async function findTaskForUpdate(sql: SqlClient, lookup: TaskLookup): Promise<TaskRow | null> {
  if (lookup.by === "issue_latest") {
    const rows = await sql<TaskRow[]>`
      select * from tasks where repo_id = ${lookup.repoId} and issue_number = ${lookup.issueNumber}
         and trigger_verdict in ('authorized', 'refused')
       order by created_at desc limit 1 for update`;
    return rows[0] ?? null;
  }
  if (lookup.by === "branch") {
    const rows = await sql<TaskRow[]>`
      select * from tasks where repo_id = ${lookup.repoId} and branch = ${lookup.branch}
       order by created_at desc limit 1 for update`;
    return rows[0] ?? null;
  }
  const rows =
    lookup.by === "id"
      ? await sql<TaskRow[]>`select * from tasks where id = ${lookup.taskId} for update`
      : lookup.by === "issue"
        ? await sql<TaskRow[]>`
            select * from tasks
             where repo_id = ${lookup.repoId} and issue_number = ${lookup.issueNumber}
               and state = any(${ACTIVE_STATES as string[]})
               for update`
        : await sql<TaskRow[]>`
            select * from tasks where repo_id = ${lookup.repoId} and pr_number = ${lookup.prNumber}
             order by created_at desc limit 1 for update`;
  return rows[0] ?? null;
}
