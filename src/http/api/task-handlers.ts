import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { findRepositoryByName } from "../../db/queries/find-repository-by-name.js";
import { findTask } from "../../db/queries/find-task.js";
import { listTaskAgentJobs } from "../../db/queries/list-task-agent-jobs.js";
import { listTaskCiResults } from "../../db/queries/list-task-ci-results.js";
import { listTaskComplianceRecords } from "../../db/queries/list-task-compliance-records.js";
import { listTasks } from "../../db/queries/list-tasks.js";
import { buildRepoWebUrl } from "../../engine/links.js";
import { runOperatorAction, startIssueTask, type OperatorAction } from "../../engine/operator-actions.js";
import { readIssueForTask } from "../../github/read-issue-for-task.js";
import { buildIssueSnapshot } from "../../webhooks/build-inbox-event.js";
import { isTerminalState } from "../../workflow/states.js";
import type { IssueRef } from "../../workflow/events.js";
import type { ApiCaller, ApiRouteDeps } from "./api-deps.js";
import { BadRequestError, readJsonBody, sendJson, sendProblem } from "./problem.js";
import { toCiResultView, toJobView, toTaskSummary, toTimelineEntry } from "./task-views.js";

const REPOSITORY = /^[^/\s]+\/[^/\s]+$/;

/** `GET /api/tasks`: newest first, filtered by repository, state and type, one page per cursor. */
export async function listTaskPage(deps: ApiRouteDeps, res: ServerResponse, url: URL): Promise<true> {
  const params = url.searchParams;
  const repository = params.get("repository");
  if (repository !== null && !REPOSITORY.test(repository))
    throw new BadRequestError(`repository must be owner/name (got "${repository}").`);
  const perPage = Number(params.get("per_page") ?? 30);
  if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100)
    throw new BadRequestError("per_page must be a whole number from 1 to 100.");
  const cursor = params.get("cursor");
  const after = cursor === null ? undefined : decodeCursor(cursor);
  const list = (name: string) =>
    params
      .get(name)
      ?.split(",")
      .map((value) => value.trim())
      .filter(Boolean);
  const [owner, name] = repository?.split("/") ?? [];
  const page = await listTasks(deps.sql, {
    ...(owner && name ? { repository: { owner, name } } : {}),
    ...(list("state") ? { states: list("state")! } : {}),
    ...(list("type") ? { types: list("type")! } : {}),
    limit: perPage,
    ...(after ? { after } : {}),
  });
  const last = page.tasks.at(-1);
  const nextCursor = page.more && last ? encodeCursor(last.createdAt, last.id) : null;
  const headers: Record<string, string> = {};
  if (nextCursor) {
    const next = new URLSearchParams(params);
    next.set("cursor", nextCursor);
    headers.link = `</api/tasks?${next.toString()}>; rel="next"`;
  }
  return sendJson(res, 200, { tasks: page.tasks.map(toTaskSummary), nextCursor }, headers);
}

function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id]), "utf8").toString("base64url");
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [string, string];
    if (typeof createdAt === "string" && !Number.isNaN(Date.parse(createdAt)) && /^[0-9a-f-]{36}$/i.test(String(id)))
      return { createdAt, id };
  } catch {
    // answered below
  }
  throw new BadRequestError("cursor is not one Foreman gave: pass the nextCursor of the previous page unchanged.");
}

/** `GET /api/tasks/{id}`: the task with its steps, jobs, CI results, links and timeline (its compliance records). */
export async function getTask(deps: ApiRouteDeps, res: ServerResponse, taskId: string): Promise<true> {
  const task = await findTask(deps.sql, taskId);
  if (!task) return sendProblem(res, 404, "not-found", `No task ${taskId}. List tasks with GET /api/tasks.`);
  const [jobs, ciResults, records] = await Promise.all([
    listTaskAgentJobs(deps.sql, task.id),
    listTaskCiResults(deps.sql, task.id),
    listTaskComplianceRecords(deps.sql, task.id),
  ]);
  const repoUrl = buildRepoWebUrl(deps.engine.webBaseUrl, task.repo);
  return sendJson(res, 200, {
    ...toTaskSummary(task),
    steps: task.pipeline.steps.map((step) => ({
      role: step.role,
      purpose: step.purpose,
      status: step.status,
      jobId: step.jobId,
      commitSha: step.commitSha,
      summary: step.summary,
    })),
    jobs: jobs.map((job) => toJobView(task.id, job)),
    ciResults: ciResults.map(toCiResultView),
    links: {
      self: `/api/tasks/${task.id}`,
      issue: `${repoUrl}/issues/${task.issueNumber}`,
      pullRequest: task.prNumber === null ? null : (task.prUrl ?? `${repoUrl}/pull/${task.prNumber}`),
      evidence: `/api/compliance/tasks/${task.id}`,
    },
    timeline: records.map(toTimelineEntry),
  });
}

/** `POST /api/tasks/{id}/stop|retry|freeze|unfreeze`: the same event as the comment or label. */
export async function runTaskAction(
  deps: ApiRouteDeps,
  res: ServerResponse,
  caller: ApiCaller,
  taskId: string,
  action: OperatorAction,
): Promise<true> {
  let issue: IssueRef | undefined;
  const task = await findTask(deps.sql, taskId);
  if (task && action === "retry" && isTerminalState(task.state)) {
    // A retry after the end starts a new task from the issue's text as it is now, as the comment would.
    const read = await readFromGitHub(deps, task.repo.installationId, {
      owner: task.repo.owner,
      repo: task.repo.name,
      issueNumber: task.issueNumber,
    });
    if ("problem" in read) return sendProblem(res, read.status, read.slug, read.problem);
    issue = {
      number: read.issue.number,
      title: read.issue.title,
      snapshot: buildIssueSnapshot({
        title: read.issue.title,
        body: read.issue.body,
        updated_at: read.issue.updatedAt,
      }),
    };
  }
  const result = await runOperatorAction(
    deps.sql,
    { mode: "apply", engine: deps.engine },
    {
      taskId,
      action,
      actor: { kind: "api", tokenId: caller.id, tokenName: caller.name },
      ...(issue ? { issue } : {}),
    },
  );
  return sendJson(res, result.outcome === "applied" ? 200 : 202, {
    outcome: result.outcome,
    task: result.task ? toTaskSummary(result.task) : null,
  });
}

const StartTaskRequest = z
  .object({
    repository: z.string().regex(REPOSITORY, "must be owner/name"),
    issue: z.number().int().positive(),
    label: z.string().min(1).max(100).default("agent:ready"),
  })
  .strict();

/** `POST /api/tasks`: start a task for an issue, as its trigger label would; `Idempotency-Key` makes it once. */
export async function startTask(
  deps: ApiRouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  caller: ApiCaller,
): Promise<true> {
  const body = StartTaskRequest.parse(await readJsonBody(req));
  const keyHeader = req.headers["idempotency-key"];
  const key = Array.isArray(keyHeader) ? keyHeader[0] : keyHeader;
  if (key !== undefined && (key.length === 0 || key.length > 200))
    throw new BadRequestError("Idempotency-Key must be 1 to 200 characters.");
  const repository = await findRepositoryByName(deps.sql, body.repository);
  if (!repository)
    return sendProblem(
      res,
      404,
      "not-found",
      `Foreman is not installed on ${body.repository}. Install the GitHub App on it, or check the name.`,
    );
  const [owner, name] = body.repository.split("/") as [string, string];
  const read = await readFromGitHub(deps, repository.installationId, { owner, repo: name, issueNumber: body.issue });
  if ("problem" in read) return sendProblem(res, read.status, read.slug, read.problem);
  if (read.issue.isPullRequest)
    return sendProblem(res, 422, "not-an-issue", `#${body.issue} is a pull request; tasks start from issues.`);
  if (read.issue.state !== "open")
    return sendProblem(res, 409, "issue-closed", `Issue #${body.issue} is closed; reopen it to start a task.`);
  const result = await startIssueTask(deps.sql, deps.engine, {
    repo: { installationId: repository.installationId, ...read.repo },
    issue: {
      number: read.issue.number,
      title: read.issue.title,
      labels: read.issue.labels,
      snapshot: buildIssueSnapshot({
        title: read.issue.title,
        body: read.issue.body,
        updated_at: read.issue.updatedAt,
      }),
    },
    label: body.label,
    actor: { tokenId: caller.id, tokenName: caller.name },
    ...(key !== undefined ? { idempotencyKey: key } : {}),
  });
  const status = result.replayed ? 200 : result.outcome === "applied" ? 201 : 202;
  return sendJson(res, status, {
    outcome: result.replayed ? "replayed" : result.outcome,
    task: result.task ? toTaskSummary(result.task) : null,
  });
}

async function readFromGitHub(
  deps: ApiRouteDeps,
  installationId: number,
  params: { owner: string; repo: string; issueNumber: number },
) {
  try {
    return await readIssueForTask(await deps.engine.github(installationId), params);
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 404)
      return {
        status: 404,
        slug: "not-found",
        problem: `GitHub has no issue #${params.issueNumber} in ${params.owner}/${params.repo} (or the app cannot see it).`,
      };
    return {
      status: 502,
      slug: "github-unavailable",
      problem: `GitHub could not be read (${status ?? "no answer"}); try again shortly.`,
    };
  }
}
