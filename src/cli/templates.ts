import type { SqlClient } from "../db/client.js";
import { listTemplateStats } from "../db/queries/list-template-stats.js";
import { addTemplateRates, type SummaryTemplateStats } from "../summary/build-daily-summary.js";
import { formatCost, formatRate } from "../summary/render-summary-email.js";
import { CommandError } from "./command-error.js";

export const TEMPLATES_USAGE = `Usage:
  foreman templates stats [--days N] [--repo owner/name] [--json]
      outcomes per prompt template (role × task type, repository overrides, content hash) of the
      agent jobs that ended in the last N days (default 30): success rate, CI first-pass rate,
      changes requested, cost`;

const DAY_MS = 86_400_000;

/** `foreman templates stats`: the per-template statistics of the daily summary, on demand. */
export async function runTemplatesCommand(
  args: string[],
  deps: { sql: SqlClient; out: (text: string) => void; now: Date },
): Promise<number> {
  const [subcommand, ...options] = args;
  if (subcommand === undefined || subcommand === "--help" || options.includes("--help")) {
    deps.out(TEMPLATES_USAGE);
    return subcommand === undefined ? 2 : 0;
  }
  if (subcommand !== "stats") throw new CommandError(`unknown subcommand "${subcommand}"\n\n${TEMPLATES_USAGE}`);
  const parsed = parseStatsOptions(options);
  const rows = (
    await listTemplateStats(deps.sql, {
      since: new Date(deps.now.getTime() - parsed.days * DAY_MS),
      until: deps.now,
      repoFullName: parsed.repo,
    })
  ).map(addTemplateRates);
  if (parsed.json) {
    deps.out(JSON.stringify(rows, null, 2));
    return 0;
  }
  const scope = parsed.repo ?? "all repositories";
  if (rows.length === 0) {
    deps.out(`No agent job with a recorded template ended in the last ${parsed.days} days (${scope}).`);
    return 0;
  }
  deps.out(`Prompt templates, agent jobs that ended in the last ${parsed.days} days (${scope}):`);
  deps.out(renderStatsTable(rows));
  return 0;
}

function parseStatsOptions(options: string[]): { days: number; repo: string | null; json: boolean } {
  let days = 30;
  let repo: string | null = null;
  let json = false;
  for (let index = 0; index < options.length; index += 1) {
    const option = options[index];
    const value = options[index + 1];
    if (option === "--json") json = true;
    else if (option === "--days") {
      if (value === undefined || !/^[1-9][0-9]{0,4}$/.test(value))
        throw new CommandError("--days needs a whole number of days, e.g. foreman templates stats --days 7");
      days = Number(value);
      index += 1;
    } else if (option === "--repo") {
      if (value === undefined || !/^[^/\s]+\/[^/\s]+$/.test(value))
        throw new CommandError("--repo needs owner/name, e.g. foreman templates stats --repo acme/api");
      repo = value;
      index += 1;
    } else throw new CommandError(`unknown option ${option}\n\n${TEMPLATES_USAGE}`);
  }
  return { days, repo, json };
}

/** The statistics as an aligned text table, one template per row. */
export function renderStatsTable(rows: readonly SummaryTemplateStats[]): string {
  const header = [
    "role",
    "task type",
    "template",
    "sha256",
    "jobs",
    "success",
    "CI first pass",
    "changes req.",
    "cost",
  ];
  const lines = rows.map((row) => [
    row.role,
    row.taskType,
    row.overrides.length === 0 ? "built-in" : `repo: ${row.overrides.join(", ")}`,
    row.sha256.slice(0, 12),
    String(row.jobs),
    formatRate(row.successRate),
    `${formatRate(row.ciFirstPassRate)} (${row.ciFirstPass}/${row.ciRuns})`,
    `${formatRate(row.changesRequestedRate)} (${row.changesRequested}/${row.reviewed})`,
    formatCost(row.costUsd),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  return [header, ...lines]
    .map((line) =>
      line
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}
