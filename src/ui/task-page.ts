/**
 * A task's page (`/ui/tasks/<id>`): its timeline, jobs and their logs, CI results, plan, reviews,
 * pipeline steps and the verification of its compliance records, for people who can read its
 * repository. Also what the page's live stream needs: the visible task, the jobs as the templates
 * show them, and a short description of what the page already shows.
 */
import type { ServerResponse } from "node:http";
import { verifyTask } from "../compliance/verify-task.js";
import { findTaskDocument } from "../db/queries/find-task-document.js";
import { listTaskCiResults } from "../db/queries/list-task-ci-results.js";
import { listTaskJobLogs, type TaskJobLog } from "../db/queries/list-task-job-logs.js";
import { listTaskTimeline } from "../db/queries/list-task-timeline.js";
import type { UiSession } from "./session.js";
import type { UiContext } from "./ui-context.js";

/** The task, if it is in one of the repositories the person can read. */
export async function findVisibleTask(
  context: UiContext,
  session: UiSession,
  taskId: string,
): Promise<Record<string, unknown> | null> {
  const task = await findTaskDocument(context.deps.sql, taskId);
  if (!task || !session.repoIds.includes(Number(task.repo_id))) return null;
  return task;
}

/** `/ui/tasks/<id>`: the task's page, or 404 when the person cannot see it. */
export async function sendTask(
  context: UiContext,
  res: ServerResponse,
  session: UiSession,
  taskId: string,
): Promise<true> {
  const { deps } = context;
  const task = await findVisibleTask(context, session, taskId);
  if (!task)
    return context.sendMessage(res, 404, session, "Not found", "No such task in the repositories you can read.", {
      href: "/ui/",
      label: "Back to the board",
    });
  const [timeline, jobs, ci, verification] = await Promise.all([
    listTaskTimeline(deps.sql, taskId),
    listTaskJobLogs(deps.sql, taskId),
    listTaskCiResults(deps.sql, taskId),
    verifyTask(deps.sql, taskId, deps.artifacts),
  ]);
  const pipeline = (task.pipeline ?? {}) as { plan?: string; steps?: unknown[] };
  // Foreman keeps a job's status and summary; the review itself is on the PR.
  const reviews = jobs.flatMap((job) => {
    const result = job.result as { status?: string; summary?: string } | null;
    return job.role === "reviewer" && result ? [{ role: job.role, status: result.status, body: result.summary }] : [];
  });
  const plan =
    pipeline.plan ??
    jobs
      .map((job) => (job.role === "planner" ? (job.result as { body?: string } | null)?.body : undefined))
      .find(Boolean);
  const lastSeq = timeline.at(-1)?.seq ?? 0;
  return context.sendPage(res, 200, "task", session, {
    task,
    title: `${String(task.repo_owner)}/${String(task.repo_name)}#${String(task.issue_number)}`,
    timeline,
    jobs: jobs.map(presentJob),
    ci,
    plan,
    reviews,
    steps: pipeline.steps ?? [],
    verification: {
      ok: verification.ok,
      records: verification.records,
      artifacts: verification.artifacts,
      failure: verification.failure,
    },
    evidenceUrl: `/api/compliance/tasks/${taskId}`,
    streamUrl: `/ui/tasks/${taskId}/events?seq=${lastSeq}&jobs=${encodeURIComponent(describeJobs(jobs))}`,
  });
}

/** A job for the templates: its log lines parsed from JSONL. */
export function presentJob(job: TaskJobLog) {
  const lines = (job.log ?? job.liveLog ?? "")
    .split("\n")
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { t?: string; stream?: string; line?: string };
        return { t: entry.t ?? "", stream: entry.stream ?? "", line: entry.line ?? "" };
      } catch {
        return { t: "", stream: "", line };
      }
    });
  const result = job.result as { summary?: string; status?: string } | null;
  return {
    ...job,
    lines,
    hasLog: job.log !== null,
    // Before the log is stored, the live lines stored so far.
    isLive: job.log === null && job.liveLines > 0,
    summary: result?.summary ?? null,
    resultStatus: result?.status ?? null,
  };
}

/** What the page already shows of the jobs: id, status, whether the log is in, and how many live lines, for each. */
export function describeJobs(jobs: readonly TaskJobLog[]): string {
  return jobs.map((job) => `${job.id}:${job.status}:${job.log === null ? 0 : 1}:${job.liveLines}`).join(",");
}
