import type { DomainEvent } from "../../workflow/events.js";
import type { Effect } from "../../workflow/effects.js";
import type { Task } from "../../workflow/task.js";
import type { GitHubClient } from "../../github/octokit.js";

/** What executing an effect produced: the event to feed back, evidence for the record, bookkeeping. */
export interface EffectOutcome {
  event?: DomainEvent;
  /** What the compliance record of this action says happened (ids, SHAs, numbers). */
  evidence: Record<string, unknown>;
  statusCommentId?: number;
  knownTriggerLabels?: string[];
  /** The `foreman` check run this effect created or updated, and the head SHA it is on. */
  checkRun?: { id: number; sha: string };
  /**
   * The display kinds this effect drew itself (the ready effect, ADR 0017): the engine marks done
   * the task's pending redraws of those kinds queued by the same transition, which would draw the same.
   */
  drawn?: Array<"upsert_status_comment" | "upsert_check_run">;
}

/** One of the task's agent jobs as people see it: its role, status and the link to its redacted log. */
export interface JobLink {
  id: string;
  role: string;
  status: string;
  /** Null without a `PUBLIC_URL`. */
  logUrl: string | null;
}

/**
 * What the effect runner reads from Foreman's database before an effect runs, so that executors
 * read no database: each executor names the facts it needs (`EFFECT_EXECUTORS`), the others stay empty.
 */
export interface EffectFacts {
  /** The task's agent jobs, oldest first. */
  jobs: JobLink[];
  /** The place of the task's queued job in the fair queue, while it waits for a container slot. */
  queuePosition: number | null;
  /** The hash of the task's latest compliance record (a completed check run cites it). */
  latestRecordHash: string | null;
}

/** What an executor gets: the effect's payload, the task as stored now, an authenticated client, and the facts it asked for. */
export interface EffectInput<P> {
  payload: P;
  task: Task;
  octokit: GitHubClient;
  /** 1 on the first try; more on retries (executors then look before they create). */
  attempt: number;
  statusCommentId: number | null;
  webBaseUrl: string;
  /** The task's `foreman` check run as last stored (id and the head SHA it is on), or null. */
  checkRun: { id: number; sha: string } | null;
  /** Where people reach Foreman (PUBLIC_URL, no trailing slash), for evidence and log links; null when unset. */
  publicUrl: string | null;
  facts: EffectFacts;
}

/** The payload of an effect of kind `K`. */
export type PayloadOf<K extends Effect["kind"]> = Omit<Extract<Effect, { kind: K }>, "kind">;
