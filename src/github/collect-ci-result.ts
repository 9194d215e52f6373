import type { CiFailure } from "../workflow/task.js";
import type { GitHubClient } from "./octokit.js";
import { isGreenConclusion } from "../workflow/ci-transitions.js";

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

/** The verdict, the failing checks the `ci_fixer` is told about, and what was read. */
export interface CiResult {
  verdict: CiVerdict;
  failures: CiFailure[];
  suites: CiSuite[];
}

/** Parameters for collectCiResult. */
export interface CollectCiResultParams {
  owner: string;
  repo: string;
  sha: string;
  /** Slugs of the apps whose suites count as CI. */
  apps: readonly string[];
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
  conclusion: string | null;
  app: { slug?: string } | null;
  output: { title: string | null; summary: string | null; text: string | null; annotations_count: number };
};

/**
 * Decide the CI verdict of a head SHA from the suites of the repo's CI apps, and for a failure
 * describe each failing check: its output, its annotations and, for GitHub Actions, its log's tail.
 */
export async function collectCiResult(octokit: GitHubClient, params: CollectCiResultParams): Promise<CiResult> {
  const { owner, repo, sha } = params;
  const all = await octokit.paginate(octokit.rest.checks.listSuitesForRef, { owner, repo, ref: sha, per_page: 100 });
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
  const counted = suites.filter((suite) => suite.counted);
  if (counted.length === 0 || counted.some((suite) => suite.status !== "completed"))
    return { verdict: "pending", failures: [], suites };
  const failing = counted.filter((suite) => !isGreenConclusion(suite.conclusion));
  if (failing.length === 0) return { verdict: "success", failures: [], suites };

  const failures: CiFailure[] = [];
  for (const suite of failing) {
    const runs: CheckRun[] = await octokit.paginate(octokit.rest.checks.listForSuite, {
      owner,
      repo,
      check_suite_id: suite.id,
      filter: "latest",
      per_page: 100,
    });
    for (const run of runs.filter((candidate) => FAILING_RUN_CONCLUSIONS.includes(candidate.conclusion ?? ""))) {
      if (failures.length >= MAX_FAILURES) return { verdict: "failure", failures, suites };
      failures.push(await describeFailure(octokit, { owner, repo, run }));
    }
  }
  return { verdict: "failure", failures, suites };
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
  return { name: run.name, summary, logTail };
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
