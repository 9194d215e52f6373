import type { Logger } from "probot";
import type postgres from "postgres";
import type { EtagCache, ReadBudget, RequestClient } from "../../github/conditional-read.js";
import type { RepoPolicy } from "../../webhooks/intake.js";

/** What the reconciliation sweep needs: the durable pool, GitHub clients, the worker's wake, a clock. */
export interface ReconcileDeps {
  sql: postgres.Sql;
  /** An installation's client (installation token). */
  github: (installationId: number) => Promise<RequestClient>;
  /** The app's own client (app JWT), for `/app/hook/deliveries`. */
  app: () => Promise<RequestClient>;
  /** Tell the local worker an event is waiting. */
  wake: () => void;
  log: Logger;
  now: () => Date;
  policy: RepoPolicy;
  /** Foreman's own app id: its own check suites are not CI. */
  appId: number | null;
  /** GitHub requests one sweep may spend per installation (and on the app's deliveries). */
  requestBudget: number;
  /** Below this `x-ratelimit-remaining`, a sweep leaves the rest of the limit for the work. */
  rateLimitFloor: number;
  /** Days of processed rows to keep (`RETENTION_DAYS`): each round prunes what is older. Null or absent: nothing is pruned. */
  retentionDays?: number | null;
}

/** One thing a sweep found that Foreman had missed, and what it did about it. */
export interface Repair {
  kind: RepairKind;
  detail: Record<string, unknown>;
}

/** What was missed: a failed delivery, a label, a CI result, a PR's end. */
export type RepairKind = "delivery" | "label" | "ci" | "pull_request";

/** What one round's parts share: the ETag cache, the budget, where repairs go. */
export interface SweepRound {
  deps: ReconcileDeps;
  cache: EtagCache;
  /** Where the previous round started (null in a process's first round: everything still open counts). */
  since: Date | null;
  repairs: Repair[];
  budgetFor(installationId: number | "app"): ReadBudget;
}
