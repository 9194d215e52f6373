import type { DomainEvent } from "../../workflow/events.js";
import type { Task } from "../../workflow/task.js";
import type { GitHubClient } from "../../github/octokit.js";

/** What executing an effect produced: the event to feed back, evidence for the record, bookkeeping. */
export interface EffectOutcome {
  event?: DomainEvent;
  /** What the compliance record of this action says happened (ids, SHAs, numbers). */
  evidence: Record<string, unknown>;
  statusCommentId?: number;
  knownTriggerLabels?: string[];
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
}
