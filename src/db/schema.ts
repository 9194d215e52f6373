import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow();

/** GitHub App installations (an org or user account that installed Foreman). */
export const installations = pgTable("installations", {
  id: bigint("id", { mode: "number" }).primaryKey(),
  accountLogin: text("account_login").notNull(),
  accountType: text("account_type").notNull(),
  suspended: boolean("suspended").notNull().default(false),
  deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
});

/** Repositories an installation gives Foreman access to, with what Foreman last learned of their config. */
export const repositories = pgTable(
  "repositories",
  {
    id: bigint("id", { mode: "number" }).primaryKey(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    fullName: text("full_name").notNull(),
    private: boolean("private").notNull().default(false),
    /** Trigger labels from the last `.github/foreman.yml` read, so custom labels are recognised without a read. */
    knownTriggerLabels: jsonb("known_trigger_labels").$type<string[]>().notNull().default([]),
    /** When `.github/foreman.yml` was last read; labels are re-learned when this is old or null. */
    configReadAt: timestamp("config_read_at", { withTimezone: true, mode: "date" }),
    /**
     * No longer written: red mode is read from `ci_results` (`on_default_branch`, the configured CI
     * apps). Kept so replicas of an older version can still read them during a rollout.
     */
    defaultBranchCi: text("default_branch_ci").$type<"success" | "failure">(),
    defaultBranchCiSha: text("default_branch_ci_sha"),
    defaultBranchCiAt: timestamp("default_branch_ci_at", { withTimezone: true, mode: "date" }),
    removedAt: timestamp("removed_at", { withTimezone: true, mode: "date" }),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (table) => [index("repositories_installation_idx").on(table.installationId)],
);

/**
 * The inbox: every event, from GitHub or from an executed effect, lands here before anything acts
 * on it. `delivery_id` dedupes redeliveries; `dedupe_key` dedupes a second delivery with the same
 * meaning; `lane` orders events of one issue while lanes run concurrently.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deliveryId: text("delivery_id").notNull(),
    dedupeKey: text("dedupe_key").notNull(),
    source: text("source").$type<"github" | "effect" | "operator">().notNull(),
    eventName: text("event_name").notNull(),
    lane: text("lane").notNull(),
    event: jsonb("event").notNull(),
    status: text("status").$type<"pending" | "done" | "failed">().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    availableAt: timestamp("available_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    lastError: text("last_error"),
    receivedAt: timestamp("received_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    processedAt: timestamp("processed_at", { withTimezone: true, mode: "date" }),
    /** The GitHub delivery behind this row's work, and the trace span that stored it (W3C traceparent): docs/operations.md#traces. */
    causeDeliveryId: text("cause_delivery_id"),
    traceparent: text("traceparent"),
  },
  (table) => [
    uniqueIndex("webhook_deliveries_delivery_id_key").on(table.deliveryId),
    uniqueIndex("webhook_deliveries_dedupe_key_key").on(table.dedupeKey),
    index("webhook_deliveries_pending_idx")
      .on(table.lane, table.id)
      .where(sql`status = 'pending'`),
    // The claim walks pending rows oldest first and stops at the first one it may take; without it,
    // it checked every pending row's lane and sorted them all (a backlog made each claim O(backlog)).
    index("webhook_deliveries_pending_id_idx")
      .on(table.id)
      .where(sql`status = 'pending'`),
  ],
);

/** One attempt to resolve one issue, with the state machine's state. */
export const tasks = pgTable(
  "tasks",
  {
    id: uuid("id").primaryKey(),
    installationId: bigint("installation_id", { mode: "number" }).notNull(),
    repoId: bigint("repo_id", { mode: "number" }).notNull(),
    repoOwner: text("repo_owner").notNull(),
    repoName: text("repo_name").notNull(),
    defaultBranch: text("default_branch").notNull(),
    issueNumber: integer("issue_number").notNull(),
    issueTitle: text("issue_title").notNull(),
    /** The issue's title, body and updated_at when the task started: the text its agents are shown. */
    issueSnapshot: jsonb("issue_snapshot"),
    type: text("type").notNull(),
    triggerLabel: text("trigger_label").notNull(),
    triggeredBy: text("triggered_by").notNull(),
    /** What the trigger check said of the label: pending (a silent candidate), not_a_trigger, refused, authorized. */
    triggerVerdict: text("trigger_verdict").notNull().default("pending"),
    state: text("state").notNull(),
    resumeState: text("resume_state"),
    frozenBy: text("frozen_by"),
    frozenOn: text("frozen_on"),
    config: jsonb("config"),
    branch: text("branch"),
    baseSha: text("base_sha"),
    headSha: text("head_sha"),
    prNumber: integer("pr_number"),
    prUrl: text("pr_url"),
    reason: jsonb("reason"),
    /** Where the status comment is, once known: execution bookkeeping, not workflow state. */
    statusCommentId: bigint("status_comment_id", { mode: "number" }),
    /** The agent step the task is in (a role such as coder) while running. */
    step: text("step"),
    /** The agent job of the current step; job events for any other job are stale. */
    currentJobId: uuid("current_job_id"),
    /** Agent time, tokens and cost spent so far, against the task's budgets. */
    agentMsUsed: bigint("agent_ms_used", { mode: "number" }).notNull().default(0),
    agentTokensUsed: bigint("agent_tokens_used", { mode: "number" }).notNull().default(0),
    agentCostUsd: doublePrecision("agent_cost_usd").notNull().default(0),
    /** Higher runs first: `priority:high` 1, `priority:low` -1. */
    priority: integer("priority").notNull().default(0),
    /** The pipeline's progress: roles, current step, plan, feedback, CI attempts, step history. */
    pipeline: jsonb("pipeline"),
    /** The `foreman` check run and the head SHA it is on: bookkeeping, like the status comment. */
    checkRunId: bigint("check_run_id", { mode: "number" }),
    checkRunSha: text("check_run_sha"),
    /** How many times a step was started over after a human moved the branch. */
    stepRestarts: integer("step_restarts").notNull().default(0),
    /** Bumped on every save; saves compare-and-swap on it. */
    version: integer("version").notNull().default(1),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (table) => [
    // At most one active task per issue, enforced by the database, not just checked.
    uniqueIndex("tasks_one_active_per_issue")
      .on(table.repoId, table.issueNumber)
      // By exclusion, so a new working state is covered without touching this index.
      .where(sql`state not in ('merged', 'closed', 'completed', 'cancelled', 'failed')`),
    index("tasks_repo_pr_idx").on(table.repoId, table.prNumber),
    index("tasks_repo_issue_idx").on(table.repoId, table.issueNumber),
    index("tasks_repo_branch_idx").on(table.repoId, table.branch),
  ],
);

/** The outbox: effects a transition decided on, executed after commit, in order per task, at least once. */
export const effects = pgTable(
  "effects",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    taskId: uuid("task_id")
      .notNull()
      .references(() => tasks.id),
    kind: text("kind").notNull(),
    payload: jsonb("payload").notNull(),
    status: text("status").$type<"pending" | "running" | "done" | "failed" | "skipped">().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    availableAt: timestamp("available_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    leaseUntil: timestamp("lease_until", { withTimezone: true, mode: "date" }),
    lockedBy: text("locked_by"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    doneAt: timestamp("done_at", { withTimezone: true, mode: "date" }),
    /** The GitHub delivery behind this row's work, and the trace span that stored it (W3C traceparent): docs/operations.md#traces. */
    causeDeliveryId: text("cause_delivery_id"),
    traceparent: text("traceparent"),
  },
  (table) => [
    index("effects_open_idx")
      .on(table.taskId, table.id)
      .where(sql`status in ('pending', 'running')`),
  ],
);

/** The tamper-evident trail: append-only (triggers refuse UPDATE/DELETE/TRUNCATE), hash-chained by `seq`. */
export const complianceRecords = pgTable(
  "compliance_records",
  {
    seq: bigint("seq", { mode: "number" }).primaryKey(),
    taskId: uuid("task_id"),
    kind: text("kind").notNull(),
    actor: text("actor").notNull(),
    payload: jsonb("payload").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  (table) => [
    index("compliance_records_task_idx").on(table.taskId, table.seq),
    uniqueIndex("compliance_records_hash_key").on(table.hash),
  ],
);

/** One container run of an agent for one step of a task: queued, leased by a replica, finished. */
export const agentJobs = pgTable(
  "agent_jobs",
  {
    id: uuid("id").primaryKey(),
    taskId: uuid("task_id")
      .notNull()
      .references(() => tasks.id),
    role: text("role").notNull(),
    profile: text("profile").notNull(),
    image: text("image"),
    status: text("status")
      .$type<"queued" | "running" | "succeeded" | "failed" | "cancelled">()
      .notNull()
      .default("queued"),
    attempt: integer("attempt").notNull().default(1),
    /** The branch head the job works on; the push is a fast-forward from it or nothing. */
    baseSha: text("base_sha").notNull(),
    availableAt: timestamp("available_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    leaseUntil: timestamp("lease_until", { withTimezone: true, mode: "date" }),
    replica: text("replica"),
    /** Set when the task is frozen or ended: the runner stops the container. */
    cancelRequested: boolean("cancel_requested").notNull().default(false),
    startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }),
    finishedAt: timestamp("finished_at", { withTimezone: true, mode: "date" }),
    exitCode: integer("exit_code"),
    failureCode: text("failure_code"),
    failureMessage: text("failure_message"),
    result: jsonb("result"),
    usage: jsonb("usage"),
    prompt: text("prompt"),
    promptSha256: text("prompt_sha256"),
    /** The prompt template the job was rendered from (role, task type, repository overrides, sha256), for per-template statistics. */
    promptTemplate: jsonb("prompt_template"),
    promptTemplateSha256: text("prompt_template_sha256"),
    /** The GitHub delivery behind this row's work, and the trace span that stored it (W3C traceparent): docs/operations.md#traces. */
    causeDeliveryId: text("cause_delivery_id"),
    traceparent: text("traceparent"),
    /** The redacted execution log, JSONL (time, stream, line). */
    log: text("log"),
    /** An unguessable token in the log's link. */
    logToken: text("log_token").notNull(),
    pushedSha: text("pushed_sha"),
    createdAt: createdAt(),
  },
  (table) => [
    index("agent_jobs_queue_idx")
      .on(table.availableAt)
      .where(sql`status = 'queued'`),
    index("agent_jobs_task_idx").on(table.taskId),
  ],
);

/**
 * The live log of a running agent job: its container's redacted lines, stored in batches while it
 * runs (bounded by the log size cap), for readers who follow it. The stored log (`agent_jobs.log`)
 * written when the job ends is the evidence; these are what a reader sees until then.
 */
export const agentJobLogLines = pgTable(
  "agent_job_log_lines",
  {
    seq: bigserial("seq", { mode: "number" }).primaryKey(),
    jobId: uuid("job_id")
      .notNull()
      .references(() => agentJobs.id, { onDelete: "cascade" }),
    attempt: integer("attempt").notNull(),
    /** One JSONL line without its newline: `{t, stream, line}`, as in the stored log. */
    entry: text("entry").notNull(),
  },
  (table) => [index("agent_job_log_lines_job_idx").on(table.jobId, table.seq)],
);

/** Content-addressed evidence files (prompts, agent outputs, logs, diffs): what the artifact store holds. */
export const artifacts = pgTable("artifacts", {
  sha256: text("sha256").primaryKey(),
  kind: text("kind").notNull(),
  size: bigint("size", { mode: "number" }).notNull(),
  createdAt: createdAt(),
});

/** Signed statements of the chain head (`seq`, `hash`, `time`), Ed25519; append-only like the chain. */
export const complianceCheckpoints = pgTable("compliance_checkpoints", {
  seq: bigint("seq", { mode: "number" }).primaryKey(),
  hash: text("hash").notNull(),
  time: text("time").notNull(),
  signature: text("signature").notNull(),
  keyId: text("key_id").notNull(),
  createdAt: createdAt(),
});

/** Bearer tokens for `/api/*`: only the sha256 of each token is kept. */
export const apiTokens = pgTable(
  "api_tokens",
  {
    id: uuid("id").primaryKey(),
    name: text("name").notNull(),
    role: text("role").$type<"admin" | "operator" | "auditor" | "viewer">().notNull(),
    tokenSha256: text("token_sha256").notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp("revoked_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [uniqueIndex("api_tokens_token_sha256_key").on(table.tokenSha256)],
);

/** What an outbound notification is: a change hook, a checkpoint publication, or a daily summary (webhook or email). */
export type OutboundHookKind = "change" | "checkpoint" | "summary_webhook" | "summary_email";

/** Outgoing notifications (change-management hook, checkpoint publication, daily summaries), retried until delivered. */
export const outboundHooks = pgTable(
  "outbound_hooks",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    kind: text("kind").$type<OutboundHookKind>().notNull(),
    /** Sent as the `Idempotency-Key` header: the task id, `checkpoint:<seq>`, or `summary:<repo id>:<YYYY-MM-DD>`. */
    idempotencyKey: text("idempotency_key").notNull(),
    taskId: uuid("task_id"),
    /** The exact bytes sent; built at the first attempt so that every retry sends the same body. */
    body: text("body"),
    status: text("status").$type<"pending" | "delivered" | "failed" | "skipped">().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    // No default: the injected clock that decides when a hook is due also writes when it is due.
    nextAt: timestamp("next_at", { withTimezone: true, mode: "date" }).notNull(),
    /** The replica delivering it now (`REPLICA_ID`): its lease is free at once when that replica is dead (docs/adr/0005). */
    lockedBy: text("locked_by"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true, mode: "date" }),
  },
  (table) => [
    uniqueIndex("outbound_hooks_kind_key").on(table.kind, table.idempotencyKey),
    index("outbound_hooks_due_idx")
      .on(table.nextAt)
      .where(sql`status = 'pending'`),
  ],
);

/** Every completed check suite Foreman saw: on a task's head, another SHA, or the default branch. */
export const ciResults = pgTable(
  "ci_results",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    repoId: bigint("repo_id", { mode: "number" }).notNull(),
    taskId: uuid("task_id"),
    suiteId: bigint("suite_id", { mode: "number" }).notNull(),
    headSha: text("head_sha").notNull(),
    headBranch: text("head_branch"),
    app: text("app").notNull(),
    conclusion: text("conclusion").notNull(),
    /** The suite ran on the repository's own default branch (not a fork's branch of that name): red mode counts it. */
    onDefaultBranch: boolean("on_default_branch").notNull().default(false),
    /** Failing checks with their summaries and log tails, when Foreman read them. */
    failures: jsonb("failures"),
    createdAt: createdAt(),
  },
  (table) => [
    index("ci_results_task_idx").on(table.taskId, table.id),
    uniqueIndex("ci_results_suite_key").on(table.suiteId, table.conclusion, table.headSha),
  ],
);

/** Runtime switches an operator sets (the global pause); every change is also a compliance record. */
export const systemSettings = pgTable("system_settings", {
  key: text("key").primaryKey(),
  value: jsonb("value").notNull(),
  updatedBy: text("updated_by").notNull(),
  updatedAt: updatedAt(),
});

/**
 * Replicas that announce their liveness: each holds a session-level advisory lock on its name
 * (`pg_advisory_lock(7_340_015, hashtext(name))`) on a connection of its own while it runs. A lease
 * whose owner has a row here but no lock is reclaimed at once; an owner without a row (a replica of
 * an older version) keeps its lease until it expires. See docs/adr/0005.
 */
export const replicas = pgTable("replicas", {
  name: text("name").primaryKey(),
  /** When the process of this name last started (took its lock). */
  startedAt: timestamp("started_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});

/**
 * `Idempotency-Key`s of `POST /api/tasks`, per token: the same key within 24 hours answers with the
 * task the first request started, instead of starting another.
 */
export const apiIdempotencyKeys = pgTable(
  "api_idempotency_keys",
  {
    tokenId: uuid("token_id").notNull(),
    key: text("key").notNull(),
    /** The sha256 of the first request's body: the same key with another body is refused. */
    requestSha256: text("request_sha256").notNull(),
    taskId: uuid("task_id"),
    createdAt: createdAt(),
  },
  (table) => [primaryKey({ columns: [table.tokenId, table.key] })],
);

/**
 * The pace of content-creating GitHub requests (writes), one row per installation, shared by every
 * replica: a GCRA token bucket. `next_at` is the theoretical time of the next write (each write
 * moves it on by one interval; a write may go once `next_at` is within the burst of now), and
 * `blocked_until` is when GitHub, refusing with `retry-after`, said writes may start again.
 */
export const githubWritePace = pgTable("github_write_pace", {
  installationId: bigint("installation_id", { mode: "number" }).primaryKey(),
  nextAt: timestamp("next_at", { withTimezone: true, mode: "date" }).notNull(),
  blockedUntil: timestamp("blocked_until", { withTimezone: true, mode: "date" }),
  updatedAt: updatedAt(),
});
