import type { DailySummary, SummaryTemplateStats } from "./build-daily-summary.js";

/** Show a rate as a whole percentage, or "n/a" when there was nothing to count. */
export function formatRate(rate: number | null): string {
  return rate === null ? "n/a" : `${Math.round(rate * 100)}%`;
}

/** Show a duration in minutes (or hours past two), or "n/a". */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "n/a";
  const minutes = ms / 60_000;
  return minutes >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${Math.round(minutes)} min`;
}

/** Show a cost in US dollars, to the cent. */
export function formatCost(usd: number): string {
  return `$${usd.toFixed(2)}`;
}

function describeTemplate(stats: SummaryTemplateStats): string {
  const source = stats.overrides.length === 0 ? "built-in" : `repository: ${stats.overrides.join(", ")}`;
  return `${stats.role} × ${stats.taskType} (${source}, ${stats.sha256.slice(0, 12)})`;
}

/** The summary email (pure): a subject and a plain-text body with the same numbers as the webhook. */
export function renderSummaryEmail(summary: DailySummary): { subject: string; text: string } {
  const { tasks, pullRequests: prs, agents } = summary;
  const finishedBy = Object.entries(tasks.finishedByState)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, count]) => `${state} ${count}`)
    .join(", ");
  const lines = [
    `Foreman daily summary for ${summary.repo.fullName}, ${summary.day} (UTC)`,
    "",
    "Tasks",
    `  started: ${tasks.started}`,
    `  finished: ${tasks.finished}${finishedBy ? ` (${finishedBy})` : ""}`,
    `  escalated: ${tasks.escalated}`,
    "",
    "Pull requests",
    `  opened: ${prs.opened}`,
    `  merged: ${prs.merged}, CI first-pass rate ${formatRate(prs.ciFirstPassRate)} (${prs.mergedCiFirstPass} of ${prs.merged})`,
    `  time to PR: median ${formatDuration(prs.timeToPrMedianMs)}, longest ${formatDuration(prs.timeToPrMaxMs)}`,
    "",
    "Agents",
    `  jobs: ${agents.jobs}, cost ${formatCost(agents.costUsd)}, tokens ${agents.tokens}, agent time ${formatDuration(agents.agentMs)}`,
    "",
    "Worst failures",
  ];
  if (summary.worstFailures.length === 0) lines.push("  none");
  for (const group of summary.worstFailures) {
    lines.push(`  ${group.code}: ${group.count}`);
    for (const example of group.examples) {
      const link = example.logUrl ?? example.prUrl ?? example.issueUrl;
      lines.push(`    - ${example.role} on #${example.issueNumber}: ${link}`);
    }
  }
  lines.push("", `Prompt templates (the ${summary.templates.windowDays} days to ${summary.templates.until})`);
  if (summary.templates.stats.length === 0) lines.push("  no jobs");
  for (const stats of summary.templates.stats) {
    lines.push(
      `  ${describeTemplate(stats)}: ${stats.jobs} jobs, success ${formatRate(stats.successRate)}, ` +
        `CI first pass ${formatRate(stats.ciFirstPassRate)}, changes requested ${formatRate(stats.changesRequestedRate)}, ` +
        `cost ${formatCost(stats.costUsd)}`,
    );
  }
  return { subject: `Foreman daily summary: ${summary.repo.fullName}, ${summary.day}`, text: `${lines.join("\n")}\n` };
}
