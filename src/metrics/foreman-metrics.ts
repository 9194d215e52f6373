import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { SqlClient } from "../db/client.js";
import { countTaskOutcomes } from "../db/queries/count-task-outcomes.js";
import { findChainStatus } from "../db/queries/find-chain-status.js";
import { summarizeEngineBacklog } from "../db/queries/summarize-engine-backlog.js";
import { summarizeTaskSpans, type TaskSpan } from "../db/queries/summarize-task-spans.js";
import type { ForemanEvent } from "../events/foreman-events.js";
import { DatabaseHistogram, type HistogramSeries } from "./database-histogram.js";
import { OptionalGauge } from "./optional-gauge.js";

/** Bounds (seconds) of label → draft PR and label → ready: seconds to a day. */
export const TASK_SPAN_BUCKETS = Object.freeze([5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400]);
/** Bounds (seconds) of ready → first human review: a minute to a week. */
export const REVIEW_WAIT_BUCKETS = Object.freeze([60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800]);
/** Bounds (seconds) of one agent job. */
export const JOB_DURATION_BUCKETS = Object.freeze([1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600]);

const SPAN_METRICS: Record<TaskSpan, { name: string; help: string; bounds: readonly number[] }> = {
  label_to_draft_pr: {
    name: "foreman_task_label_to_draft_pr_seconds",
    help: "Time from the trigger label to the draft PR, per task (from the compliance trail).",
    bounds: TASK_SPAN_BUCKETS,
  },
  label_to_ready: {
    name: "foreman_task_label_to_ready_seconds",
    help: "Time from the trigger label to ready for review, per task (from the compliance trail).",
    bounds: TASK_SPAN_BUCKETS,
  },
  ready_to_first_human_review: {
    name: "foreman_task_ready_to_first_human_review_seconds",
    help: "Time from ready for review to the first review by a human, per task (from the compliance trail).",
    bounds: REVIEW_WAIT_BUCKETS,
  },
};

/** Foreman's metrics: a registry, the event listener that feeds it, and the scrape that adds the database's figures. */
export interface ForemanMetrics {
  readonly registry: Registry;
  /** Feed one event (subscribe this to src/events). */
  handle(event: ForemanEvent): void;
  /** Read the database's figures and render every metric in Prometheus' text format. */
  scrape(): Promise<string>;
  /** Every metric name this registry exports (histograms as their base name). */
  names(): string[];
}

/** Build the registry and its metrics; `sql` answers the KPIs and queue figures at each scrape. */
export function createForemanMetrics(options: { sql: SqlClient; defaultMetrics?: boolean }): ForemanMetrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: "foreman_" });

  // Fed by events: this replica's own.
  const githubRequests = new Counter({
    name: "foreman_github_requests_total",
    help: "GitHub API requests this replica made, by method, route template and HTTP status (0: no answer).",
    labelNames: ["method", "route", "status"],
    registers,
  });
  const rateLimit = new Gauge({
    name: "foreman_github_rate_limit_remaining",
    help: "GitHub's x-ratelimit-remaining on the latest answer, per installation.",
    labelNames: ["installation"],
    registers,
  });
  const circuit = new Gauge({
    name: "foreman_circuit_breaker_state",
    help: "1 for the state each circuit breaker is in (closed, open, half_open), per service and key; a breaker appears once it changed state.",
    labelNames: ["service", "key", "state"],
    registers,
  });
  const retentionPruned = new Counter({
    name: "foreman_retention_pruned_total",
    help: "Rows the retention pruning removed (RETENTION_DAYS), by kind: inbox, effects, job_log_lines, job_logs (stored logs cleared), outbound_hooks, ci_results, api_idempotency_keys.",
    labelNames: ["kind"],
    registers,
  });
  const reconcileRepairs = new Counter({
    name: "foreman_reconcile_repairs_total",
    help: "Missed events the reconciliation sweep repaired, by kind (delivery redelivered, label, ci, pull_request).",
    labelNames: ["kind"],
    registers,
  });
  const effectFailures = new Counter({
    name: "foreman_effect_failures_total",
    help: "Failed effect attempts, by effect kind, error code and whether it was final (no more retries).",
    labelNames: ["kind", "code", "final"],
    registers,
  });
  const jobDuration = new Histogram({
    name: "foreman_agent_job_duration_seconds",
    help: "Agent job run time, by role, profile and end status.",
    labelNames: ["repository", "role", "profile", "status"],
    buckets: [...JOB_DURATION_BUCKETS],
    registers,
  });
  const containerMemory = new Histogram({
    name: "foreman_agent_container_peak_memory_bytes",
    help: "Peak memory of each agent container as the Docker engine reported it, by profile.",
    labelNames: ["profile"],
    buckets: [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192].map((mib) => mib * 1024 * 1024),
    registers,
  });
  const containerCpu = new Histogram({
    name: "foreman_agent_container_cpu_seconds",
    help: "CPU seconds each agent container used as the Docker engine reported it, by profile.",
    labelNames: ["profile"],
    buckets: [0.1, 1, 5, 15, 60, 300, 900, 3600],
    registers,
  });
  const optional = (name: string, help: string) => new OptionalGauge(name, help).registerIn(registry);
  const checkpointRoundOk = optional(
    "foreman_compliance_round_ok",
    "1 when this replica's last compliance round (checkpoint and hook delivery) succeeded, 0 when it failed (absent before the first).",
  );

  // From the database at each scrape: the same on every replica (aggregate with max, not sum).
  const spans = Object.fromEntries(
    Object.entries(SPAN_METRICS).map(([span, spec]) => [
      span,
      new DatabaseHistogram(spec.name, spec.help, spec.bounds).registerIn(registry),
    ]),
  ) as Record<TaskSpan, DatabaseHistogram>;
  const taskLabels = ["repository", "type"] as const;
  const ciFirst = new Gauge({
    name: "foreman_tasks_first_ci_verdict",
    help: "Tasks by their first CI verdict (success: passed CI first time), per repository and task type.",
    labelNames: [...taskLabels, "verdict"],
    registers,
  });
  const merged = new Gauge({
    name: "foreman_tasks_merged",
    help: "Merged tasks, per repository and task type, by whether a human pushed a commit to the PR.",
    labelNames: [...taskLabels, "human_commit"],
    registers,
  });
  const traceable = new Gauge({
    name: "foreman_tasks_merged_traceable",
    help: "Merged tasks whose compliance evidence is complete (draft PR, merge transition, record_merge), per repository and task type.",
    labelNames: [...taskLabels],
    registers,
  });
  const escalations = new Gauge({
    name: "foreman_task_escalations",
    help: "Times a task was escalated to a human, per repository and task type.",
    labelNames: [...taskLabels],
    registers,
  });
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers });
  const inboxPending = gauge("foreman_inbox_pending_events", "Inbox events due and not yet processed.");
  const inboxLag = gauge("foreman_inbox_lag_seconds", "How long the oldest due inbox event has waited (0 when none).");
  const effectsQueued = gauge("foreman_effects_queued", "Outbox effects pending or running.");
  const effectsOldest = gauge(
    "foreman_effects_oldest_age_seconds",
    "How long the oldest due pending effect has waited (0 when none).",
  );
  const jobsQueued = gauge("foreman_agent_jobs_queued", "Agent jobs waiting for a container slot, per repository.", [
    "repository",
  ]);
  const jobsOldest = gauge(
    "foreman_agent_jobs_oldest_queued_seconds",
    "How long the oldest queued agent job has waited since it became due, per repository.",
    ["repository"],
  );
  const jobsRunning = gauge("foreman_agent_jobs_running", "Agent jobs running, on every replica.");
  const chainLength = gauge("foreman_compliance_chain_length", "Records in the compliance chain (the newest seq).");
  const checkpointSeq = optional(
    "foreman_compliance_checkpoint_seq",
    "The seq the newest checkpoint signs (absent until the first checkpoint).",
  );
  const checkpointAge = optional(
    "foreman_compliance_checkpoint_age_seconds",
    "Age of the newest checkpoint (absent until the first checkpoint).",
  );
  const verifyOk = optional(
    "foreman_compliance_verify_ok",
    "1 when the last `foreman verify` of the whole trail passed, 0 when it found a problem (absent until it ran).",
  );
  const verifyAge = optional(
    "foreman_compliance_verify_age_seconds",
    "Age of the last `foreman verify` of the whole trail (absent until it ran).",
  );

  function handle(event: ForemanEvent): void {
    switch (event.type) {
      case "github.request":
        githubRequests.inc({ method: event.method, route: event.route, status: String(event.status) });
        if (event.installationId !== null && event.rateLimitRemaining !== null)
          rateLimit.set({ installation: event.installationId }, event.rateLimitRemaining);
        return;
      case "circuit.changed":
        for (const state of ["closed", "open", "half_open"] as const)
          circuit.set({ service: event.service, key: event.key, state }, state === event.state ? 1 : 0);
        return;
      case "effect.failed":
        effectFailures.inc({ kind: event.kind, code: event.code, final: String(event.final) });
        return;
      case "agent_job.finished":
        jobDuration.observe(
          { repository: event.repository, role: event.role, profile: event.profile, status: event.status },
          event.durationSeconds,
        );
        return;
      case "container.finished":
        if (event.peakMemoryBytes !== null) containerMemory.observe({ profile: event.profile }, event.peakMemoryBytes);
        if (event.cpuSeconds !== null) containerCpu.observe({ profile: event.profile }, event.cpuSeconds);
        return;
      case "checkpoint.round":
        checkpointRoundOk.set(event.ok ? 1 : 0);
        return;
      case "reconcile.repaired":
        reconcileRepairs.inc({ kind: event.kind }, event.count);
        return;
      case "retention.pruned":
        retentionPruned.inc({ kind: event.kind }, event.count);
        return;
    }
  }

  async function readDatabase(): Promise<void> {
    const bounds = TASK_SPAN_BUCKETS;
    const [spanRows, reviewRows, outcomes, backlog, chain] = await Promise.all([
      summarizeTaskSpans(options.sql, bounds),
      summarizeTaskSpans(options.sql, REVIEW_WAIT_BUCKETS),
      countTaskOutcomes(options.sql),
      summarizeEngineBacklog(options.sql),
      findChainStatus(options.sql),
    ]);
    // Everything below is synchronous: a concurrent scrape sees one reading or the other, never half.
    for (const span of Object.keys(SPAN_METRICS) as TaskSpan[]) {
      const rows = (span === "ready_to_first_human_review" ? reviewRows : spanRows).filter((row) => row.span === span);
      spans[span].replace(groupSeries(rows, SPAN_METRICS[span].bounds.length));
    }
    for (const metric of [ciFirst, merged, traceable, escalations, jobsQueued, jobsOldest]) metric.reset();
    for (const row of outcomes) {
      const labels = { repository: row.repository, type: row.type };
      ciFirst.set({ ...labels, verdict: "success" }, row.ciFirstPass);
      ciFirst.set({ ...labels, verdict: "failure" }, row.ciFirstVerdicts - row.ciFirstPass);
      merged.set({ ...labels, human_commit: "false" }, row.mergedWithoutHumanCommit);
      merged.set({ ...labels, human_commit: "true" }, row.merged - row.mergedWithoutHumanCommit);
      traceable.set(labels, row.mergedTraceable);
      escalations.set(labels, row.escalations);
    }
    inboxPending.set(backlog.inboxPending);
    inboxLag.set(backlog.inboxLagSeconds);
    effectsQueued.set(backlog.effectsQueued);
    effectsOldest.set(backlog.effectsOldestAgeSeconds);
    jobsRunning.set(backlog.jobsRunning);
    for (const repo of backlog.queuedByRepository) {
      jobsQueued.set({ repository: repo.repository }, repo.queued);
      jobsOldest.set({ repository: repo.repository }, repo.oldestWaitSeconds);
    }
    chainLength.set(chain.length);
    checkpointSeq.set(chain.checkpointSeq);
    checkpointAge.set(chain.checkpointAgeSeconds);
    verifyOk.set(chain.lastVerify === null ? null : chain.lastVerify.ok ? 1 : 0);
    verifyAge.set(chain.lastVerify?.ageSeconds ?? null);
  }

  return {
    registry,
    handle,
    async scrape() {
      await readDatabase();
      return registry.metrics();
    },
    names: () => registry.getMetricsAsArray().map((metric) => metric.name),
  };
}

function groupSeries(
  rows: Array<{ repository: string; type: string; bucket: number | null; count: number; sumSeconds: number }>,
  boundCount: number,
): HistogramSeries[] {
  const byKey = new Map<string, HistogramSeries>();
  for (const row of rows) {
    const key = JSON.stringify([row.repository, row.type]);
    let series = byKey.get(key);
    if (!series) {
      series = {
        labels: { repository: row.repository, type: row.type },
        counts: Array(boundCount + 1).fill(0),
        sum: 0,
      };
      byKey.set(key, series);
    }
    series.counts[row.bucket ?? boundCount]! += row.count;
    series.sum += row.sumSeconds;
  }
  return [...byKey.values()].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
}
