import type { DomainEvent } from "../../workflow/events.js";
import type { Task } from "../../workflow/task.js";
import type { GitHubClient } from "../../github/octokit.js";
import type { SqlClient } from "../../db/client.js";

/** What executing an effect produced: the event to feed back, evidence for the record, bookkeeping. */
export interface EffectOutcome {
  event?: DomainEvent;
  /** What the compliance record of this action says happened (ids, SHAs, numbers). */
  evidence: Record<string, unknown>;
  statusCommentId?: number;
  knownTriggerLabels?: string[];
  /** The `foreman` check run this effect created or updated, and the head SHA it is on. */
  checkRun?: { id: number; sha: string };
}

/** What an executor gets: the effect's payload, the task as stored now, and an authenticated client. */
export interface EffectInput<P> {
  payload: P;
  task: Task;
  octokit: GitHubClient;
  /** 1 on the first try; more on retries (executors then look before they create). */
  attempt: number;
  statusCommentId: number | null;
  webBaseUrl: string;
  /** The link to the latest agent job's log, when Foreman has a public URL. */
  logUrl: string | null;
  /** The task's `foreman` check run as last stored (id and the head SHA it is on), or null. */
  checkRun: { id: number; sha: string } | null;
  /** Where people reach Foreman (PUBLIC_URL, no trailing slash), for evidence and log links; null when unset. */
  publicUrl: string | null;
  /** Read-only access to Foreman's database, for executors that render from it (explanations, check runs). */
  sql: SqlClient;
}
