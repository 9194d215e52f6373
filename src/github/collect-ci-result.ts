import type { CiFailure } from "../workflow/task.js";
import type { GitHubClient } from "./octokit.js";
import { isGreenConclusion, matchesStatusContext } from "../workflow/ci-transitions.js";

/** What CI says about a head SHA: every counted suite passed, one failed, or some are still running. */
export type CiVerdict = "success" | "failure" | "pending";

/** One check suite on the SHA, as recorded in the evidence. */
export interface CiSuite {
  id: number;
  app: string | null;
  status: string | null;
  conclusion: string | null;
  /** Whether its app is one of the repo's CI apps (only those decide the verdict). */
  counted: boolean;
}

/** One commit status context on the SHA, as recorded in the evidence. */
export interface CiStatus {
  context: string;
  state: string;
  /** Whether `ci.statuses` counts it (when no checks are required, only those decide). */
  counted: boolean;
}

/** The verdict, the failing checks the `ci_fixer` is told about, and what was read. */
export interface CiResult {
  verdict: CiVerdict;
  failures: CiFailure[];
  suites: CiSuite[];
  statuses: CiStatus[];
  /** The checks the base branch requires (rulesets and branch protection); empty when it requires none or they decide nothing. */
  required: string[];
  /** What decided: the branch's required checks, or the counted suites and statuses. */
  rule: "required" | "counted";
}

/** Parameters for collectCiResult. */
export interface CollectCiResultParams {
  owner: string;
  repo: string;
  sha: string;
  /** Slugs of the apps whose suites count as CI. */
  apps: readonly string[];
  /** Commit status contexts (globs) that count as CI. */
  statuses: readonly string[];
  /** When the base branch requires checks, only they decide. */
  requiredOnly: boolean;
  /** The branch the PR goes into, whose rules say which checks are required. */
  baseBranch: string;
}

const FAILING_RUN_CONCLUSIONS: readonly string[] = [
  "failure",
  "timed_out",
  "cancelled",
  "action_required",
  "startup_failure",
];
const ACTIONS_APP = "github-actions";

const MAX_FAILURES = 10;
const MAX_ANNOTATIONS = 20;
const MAX_SUMMARY_BYTES = 8 * 1024;
const MAX_TEXT_BYTES = 4 * 1024;
const LOG_TAIL_LINES = 80;
const MAX_LOG_TAIL_BYTES = 8 * 1024;
// Bytes of the raw log kept while it streams in: far more than 80 lines, far less than a whole log.
const LOG_WINDOW_BYTES = 64 * 1024;

type CheckRun = {
  id: number;
  name: string;
  status?: string | null;
  conclusion: string | null;
  app: { slug?: string } | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations_count: number };
};

/**
 * Decide the CI verdict of a head SHA, and for a failure describe each failing check: its output,
 * its annotations and, for GitHub Actions, its log's tail; a failing commit status by its
 * description and link (all a status has).
 *
 * When the base branch requires checks (rulesets, branch protection) and `requiredOnly` is on,
 * they decide: green when each passed on the SHA (a check run of that name, or a status of that
 * context), red as soon as one failed, else pending; other checks are read and recorded but do not
 * block. Otherwise the suites of the CI apps and the counted status contexts decide: pending until
 * there is one and all are done, red if one failed.
 */
export async function collectCiResult(octokit: GitHubClient, params: CollectCiResultParams): Promise<CiResult> {
  const { owner, repo, sha } = params;
  const [all, statusRows, required] = await Promise.all([
    octokit.paginate(octokit.rest.checks.listSuitesForRef, { owner, repo, ref: sha, per_page: 100 }),
    // Statuses matter when some count, or when one may be a required check.
    params.statuses.length > 0 || params.requiredOnly
      ? octokit.rest.repos
          .getCombinedStatusForRef({ owner, repo, ref: sha, per_page: 100 })
          .then((r) => r.data.statuses)
      : Promise.resolve([]),
    params.requiredOnly ? readRequiredChecks(octokit, params) : Promise.resolve([]),
  ]);
  const suites: CiSuite[] = all.map((suite) => {
    const app = suite.app?.slug ?? null;
    return {
      id: suite.id,
      app,
      status: suite.status,
      conclusion: suite.conclusion,
      counted: app !== null && params.apps.includes(app),
    };
  });
  const statuses: CiStatus[] = statusRows.map((status) => ({
    context: status.context,
    state: status.state,
    counted: matchesStatusContext(params.statuses, status.context),
  }));
  const read = { suites, statuses, required };
  if (required.length > 0)
    return { ...(await judgeRequired(octokit, params, required, statusRows)), ...read, rule: "required" };

  const countedSuites = suites.filter((suite) => suite.counted);
  const countedStatuses = statusRows.filter((status) => matchesStatusContext(params.statuses, status.context));
  const pending = { verdict: "pending" as const, failures: [], ...read, rule: "counted" as const };
  if (countedSuites.length + countedStatuses.length === 0) return pending;
  if (countedSuites.some((suite) => suite.status !== "completed")) return pending;
  if (countedStatuses.some((status) => status.state === "pending")) return pending;
  const failingSuites = countedSuites.filter((suite) => !isGreenConclusion(suite.conclusion));
  const failingStatuses = countedStatuses.filter((status) => status.state !== "success");
  if (failingSuites.length + failingStatuses.length === 0)
    return { verdict: "success", failures: [], ...read, rule: "counted" };

  const failures: CiFailure[] = failingStatuses.slice(0, MAX_FAILURES).map(describeStatusFailure);
  for (const suite of failingSuites) {
    const runs: CheckRun[] = await octokit.paginate(octokit.rest.checks.listForSuite, {
      owner,
      repo,
      check_suite_id: suite.id,
      filter: "latest",
      per_page: 100,
    });
    for (const run of runs.filter((candidate) => FAILING_RUN_CONCLUSIONS.includes(candidate.conclusion ?? ""))) {
      if (failures.length >= MAX_FAILURES) return { verdict: "failure", failures, ...read, rule: "counted" };
      failures.push(await describeFailure(octokit, { owner, repo, run }));
    }
  }
  return { verdict: "failure", failures, ...read, rule: "counted" };
}

type CommitStatus = { context: string; state: string; description: string | null; target_url: string | null };

/**
 * The checks the base branch requires: its rulesets' `required_status_checks` rules and classic
 * branch protection's required checks (both readable with the metadata and contents permissions).
 * A branch without rules answers an empty list; a 403/404 counts as none.
 */
async function readRequiredChecks(octokit: GitHubClient, params: CollectCiResultParams): Promise<string[]> {
  const { owner, repo, baseBranch: branch } = params;
  const contexts = new Set<string>();
  const rules = await octokit
    .paginate(octokit.rest.repos.getBranchRules, { owner, repo, branch, per_page: 100 })
    .catch(ignoreMissing([] as Array<{ type: string; parameters?: unknown }>));
  for (const rule of rules) {
    if (rule.type !== "required_status_checks") continue;
    const checks = (rule.parameters as { required_status_checks?: Array<{ context: string }> } | undefined)
      ?.required_status_checks;
    for (const check of checks ?? []) contexts.add(check.context);
  }
  const protection = await octokit.rest.repos
    .getBranch({ owner, repo, branch })
    .then((response) => response.data.protection?.required_status_checks)
    .catch(ignoreMissing(undefined));
  for (const context of protection?.contexts ?? []) contexts.add(context);
  for (const check of protection?.checks ?? []) contexts.add(check.context);
  return [...contexts].sort();
}

// Required checks decide: each is a check run of that name or a status of that context on the SHA.
async function judgeRequired(
  octokit: GitHubClient,
  params: CollectCiResultParams,
  required: readonly string[],
  statuses: readonly CommitStatus[],
): Promise<{ verdict: CiVerdict; failures: CiFailure[] }> {
  const { owner, repo, sha } = params;
  const runs: CheckRun[] = await octokit.paginate(octokit.rest.checks.listForRef, {
    owner,
    repo,
    ref: sha,
    filter: "latest",
    per_page: 100,
  });
  const failures: CiFailure[] = [];
  let pending = false;
  for (const context of required) {
    const run = runs.find((candidate) => candidate.name === context);
    const status = statuses.find((candidate) => candidate.context === context);
    if (run !== undefined && run.status === "completed") {
      if (isGreenConclusion(run.conclusion)) continue;
      if (failures.length < MAX_FAILURES) failures.push(await describeFailure(octokit, { owner, repo, run }));
    } else if (status !== undefined && status.state !== "pending") {
      if (status.state === "success") continue;
      if (failures.length < MAX_FAILURES) failures.push(describeStatusFailure(status));
    } else {
      pending = true;
    }
  }
  // Red as soon as a required check failed, even while others still run.
  if (failures.length > 0) return { verdict: "failure", failures };
  return { verdict: pending ? "pending" : "success", failures: [] };
}

// A status has no output or log: its description and the link to its CI are all there is.
function describeStatusFailure(status: CommitStatus): CiFailure {
  const lines = [`Commit status \`${status.context}\`: ${status.state}.`];
  if (status.description) lines.push(status.description);
  if (status.target_url) lines.push(`Details: ${status.target_url}`);
  return {
    name: status.context,
    summary: capBytes(lines.join("\n"), MAX_SUMMARY_BYTES),
    logTail: "",
    source: "status",
  };
}

function ignoreMissing<T>(fallback: T): (error: unknown) => T {
  return (error) => {
    const status = (error as { status?: number }).status;
    if (status === 403 || status === 404) return fallback;
    throw error;
  };
}

async function describeFailure(
  octokit: GitHubClient,
  params: { owner: string; repo: string; run: CheckRun },
): Promise<CiFailure> {
  const { owner, repo, run } = params;
  const parts = [
    run.output.title,
    run.output.summary,
    run.output.text ? capBytes(run.output.text, MAX_TEXT_BYTES) : null,
  ];
  if (run.output.annotations_count > 0) {
    const { data } = await octokit.rest.checks.listAnnotations({
      owner,
      repo,
      check_run_id: run.id,
      per_page: MAX_ANNOTATIONS,
    });
    parts.push(
      data
        .slice(0, MAX_ANNOTATIONS)
        .map((annotation) => `${annotation.path}:${annotation.start_line} — ${annotation.message ?? ""}`)
        .join("\n"),
    );
  }
  const summary = capBytes(
    parts.filter((part): part is string => Boolean(part?.trim())).join("\n\n"),
    MAX_SUMMARY_BYTES,
  );
  // An Actions check run's id is its job's id.
  const logTail = run.app?.slug === ACTIONS_APP ? await readJobLogTail(octokit, { owner, repo, jobId: run.id }) : "";
  return { name: run.name, summary, logTail, source: "check_run" };
}

/** The last lines of an Actions job's log; "" when the app may not read Actions or the log is gone. */
async function readJobLogTail(
  octokit: GitHubClient,
  params: { owner: string; repo: string; jobId: number },
): Promise<string> {
  let raw: string;
  try {
    // Unparsed, so the log streams through a small window instead of sitting in memory whole.
    const response = await octokit.rest.actions.downloadJobLogsForWorkflowRun({
      owner: params.owner,
      repo: params.repo,
      job_id: params.jobId,
      request: { parseSuccessResponseBody: false },
    });
    raw = await readWindow(response.data as unknown);
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 403 || status === 404 || status === 410) return "";
    throw error;
  }
  return buildLogTail(raw);
}

/** The tail of a job log: ANSI colours and Actions timestamps removed, the last 80 lines, at most 8 KB. */
export function buildLogTail(raw: string): string {
  const lines = raw
    .replace(/^\uFEFF/, "")
    .replace(/\u001b\[[0-9;]*[A-Za-z]/g, "")
    .split(/\r?\n/)
    .map((line) => line.replace(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z ?/, ""));
  while (lines.length > 0 && lines.at(-1)?.trim() === "") lines.pop();
  const tail = lines.slice(-LOG_TAIL_LINES).join("\n");
  if (Buffer.byteLength(tail) <= MAX_LOG_TAIL_BYTES) return tail;
  const bytes = Buffer.from(tail);
  const cut = bytes.subarray(bytes.length - MAX_LOG_TAIL_BYTES).toString("utf8");
  // Drop the partial first line, or the character the cut split when there is one line only.
  const newline = cut.indexOf("\n");
  return newline >= 0 ? cut.slice(newline + 1) : cut.replace(/^\uFFFD+/, "");
}

async function readWindow(body: unknown): Promise<string> {
  if (typeof body === "string") return body;
  if (body instanceof ArrayBuffer) return Buffer.from(body).toString("utf8");
  if (body === null || body === undefined) return "";
  let window = Buffer.alloc(0);
  let cut = false;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    window = Buffer.concat([window, chunk]);
    if (window.length > LOG_WINDOW_BYTES) {
      window = window.subarray(window.length - LOG_WINDOW_BYTES);
      cut = true;
    }
  }
  const text = window.toString("utf8");
  // After a cut the first line is partial.
  return cut ? text.slice(text.indexOf("\n") + 1) : text;
}

function capBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const note = "\n… (cut)";
  const kept = Buffer.from(text)
    .subarray(0, maxBytes - Buffer.byteLength(note))
    .toString("utf8")
    .replace(/\uFFFD+$/, "");
  return `${kept}${note}`;
}
