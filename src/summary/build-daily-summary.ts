import type { SqlClient } from "../db/client.js";
import { findRepoActivity, type RepoActivity } from "../db/queries/find-repo-activity.js";
import { listTemplateStats, type TemplateStats } from "../db/queries/list-template-stats.js";
import { listWorstFailures } from "../db/queries/list-worst-failures.js";
import { findTemplateWindowStart, TEMPLATE_WINDOW_DAYS, type SummaryPeriod } from "./summary-period.js";

/** How the summary links to Foreman's and GitHub's pages (built by the composition root from src/engine/links.ts). */
export interface SummaryLinks {
  /** A job's redacted log, or null without `PUBLIC_URL`. */
  jobLog(jobId: string, token: string): string | null;
  /** A task's evidence in the compliance API, or null without `PUBLIC_URL`. */
  evidence(taskId: string): string | null;
  /** An issue's page on GitHub. */
  issue(repoFullName: string, issueNumber: number): string;
}

/** A share as a fraction (0–1), or null when there is nothing to divide by. */
type Rate = number | null;

/** One prompt template's outcomes, with the rates computed. */
export interface SummaryTemplateStats extends TemplateStats {
  successRate: Rate;
  ciFirstPassRate: Rate;
  changesRequestedRate: Rate;
}

/** A failed job as the summary lists it: where to look. */
export interface SummaryFailureExample {
  jobId: string;
  taskId: string;
  role: string;
  issueNumber: number;
  issueUrl: string;
  prUrl: string | null;
  logUrl: string | null;
  evidenceUrl: string | null;
  message: string | null;
}

/** The daily summary of one repository: the webhook's JSON body, and what the email is rendered from. */
export interface DailySummary {
  type: "foreman.summary.daily";
  repo: { id: number; fullName: string };
  day: string;
  period: { since: string; until: string };
  generatedAt: string;
  tasks: { started: number; finished: number; finishedByState: Record<string, number>; escalated: number };
  pullRequests: {
    opened: number;
    merged: number;
    mergedCiFirstPass: number;
    ciFirstPassRate: Rate;
    timeToPrMedianMs: number | null;
    timeToPrMaxMs: number | null;
  };
  agents: { jobs: number; costUsd: number; tokens: number; agentMs: number };
  worstFailures: Array<{ code: string; count: number; examples: SummaryFailureExample[] }>;
  templates: { windowDays: number; since: string; until: string; stats: SummaryTemplateStats[] };
}

/** Divide, or null for 0/0. */
export function computeRate(part: number, whole: number): Rate {
  return whole === 0 ? null : part / whole;
}

/** Read one repository's day (and its per-template statistics over the window ending with it) into a summary. */
export async function buildDailySummary(
  sql: SqlClient,
  repo: { id: number; fullName: string },
  period: SummaryPeriod,
  links: SummaryLinks,
  now: Date,
): Promise<DailySummary> {
  const activity: RepoActivity = await findRepoActivity(sql, repo.id, period.since, period.until);
  const failures = await listWorstFailures(sql, repo.id, period.since, period.until);
  const windowStart = findTemplateWindowStart(period.until);
  const templates = await listTemplateStats(sql, { since: windowStart, until: period.until, repoId: repo.id });
  return {
    type: "foreman.summary.daily",
    repo,
    day: period.day,
    period: { since: period.since.toISOString(), until: period.until.toISOString() },
    generatedAt: now.toISOString(),
    tasks: {
      started: activity.started,
      finished: activity.finished,
      finishedByState: activity.finishedByState,
      escalated: activity.escalated,
    },
    pullRequests: {
      opened: activity.prsOpened,
      merged: activity.merged,
      mergedCiFirstPass: activity.mergedCiFirstPass,
      ciFirstPassRate: computeRate(activity.mergedCiFirstPass, activity.merged),
      timeToPrMedianMs: activity.timeToPrMedianMs,
      timeToPrMaxMs: activity.timeToPrMaxMs,
    },
    agents: { jobs: activity.jobs, costUsd: activity.costUsd, tokens: activity.tokens, agentMs: activity.agentMs },
    worstFailures: failures.map((group) => ({
      code: group.code,
      count: group.count,
      examples: group.examples.map((example) => ({
        jobId: example.jobId,
        taskId: example.taskId,
        role: example.role,
        issueNumber: example.issueNumber,
        issueUrl: links.issue(repo.fullName, example.issueNumber),
        prUrl: example.prUrl,
        logUrl: links.jobLog(example.jobId, example.logToken),
        evidenceUrl: links.evidence(example.taskId),
        message: example.message,
      })),
    })),
    templates: {
      windowDays: TEMPLATE_WINDOW_DAYS,
      since: windowStart.toISOString(),
      until: period.until.toISOString(),
      stats: templates.map(addTemplateRates),
    },
  };
}

/** A template's counts with its success, CI first-pass and changes-requested rates. */
export function addTemplateRates(stats: TemplateStats): SummaryTemplateStats {
  return {
    ...stats,
    successRate: computeRate(stats.succeeded, stats.jobs),
    ciFirstPassRate: computeRate(stats.ciFirstPass, stats.ciRuns),
    changesRequestedRate: computeRate(stats.changesRequested, stats.reviewed),
  };
}
