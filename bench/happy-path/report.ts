import { fmt, quantile } from "../lib/stats.js";
import type { LoopRequest } from "./loop-github.js";
import type { ContainerTimes } from "./timing-runner.js";

/** An agent job as stored, with its task's issue. */
export interface JobRow {
  id: string;
  taskId: string;
  issue: number;
  role: string;
  attempt: number;
  status: string;
  /** The job's `agent_job.started` record: when the runner leased (claimed) the job, on the engine's clock. */
  claimedAt: number | null;
}

/** A `task.transition` compliance record: when an event was applied to a task, and what it queued. */
export interface TransitionRow {
  taskId: string;
  seq: number;
  at: number;
  event: string;
  deliveryId: string;
  to: string;
  effects: string[];
}

/** The timestamps of one agent job step, all on the wall clock (ms). */
export interface StepTiming {
  issue: number;
  role: string;
  /** The transition that queued the job was applied (the draft PR opened, or the previous step's end event). */
  dispatchedAt: number;
  claimedAt: number;
  /** The job's `GET /tarball/:sha` reached GitHub: job_started applied, prompt context read and rendered. */
  tarballAt: number;
  startCalledAt: number;
  runningAt: number;
  exitedAt: number;
  removedAt: number;
  /** The job's end event (`job:<id>:finished`) was applied to the task. */
  appliedAt: number;
}

/** Join the stored job and transition timestamps with the container times; jobs missing any of them are returned apart. */
export function buildStepTimings(
  jobs: readonly JobRow[],
  transitions: readonly TransitionRow[],
  times: ReadonlyMap<string, ContainerTimes>,
  /** Per issue, when each of its tarball downloads reached GitHub, in order (one per job attempt). */
  tarballs: ReadonlyMap<number, readonly number[]>,
): { steps: StepTiming[]; incomplete: string[] } {
  const byTask = new Map<string, TransitionRow[]>();
  for (const row of transitions) byTask.set(row.taskId, [...(byTask.get(row.taskId) ?? []), row]);
  const steps: StepTiming[] = [];
  const incomplete: string[] = [];
  const jobsByTask = new Map<string, JobRow[]>();
  for (const job of jobs) jobsByTask.set(job.taskId, [...(jobsByTask.get(job.taskId) ?? []), job]);
  for (const [taskId, taskJobs] of jobsByTask) {
    const rows = byTask.get(taskId) ?? [];
    // The n-th transition that queued a job queued the task's n-th job (jobs come in creation order).
    const dispatches = rows.filter((row) => row.effects.includes("dispatch_agent_job"));
    taskJobs.forEach((job, index) => {
      const container = times.get(`${job.id}-${job.attempt}`);
      const applied = rows.find((row) => row.deliveryId === `job:${job.id}:finished`);
      const dispatched = dispatches[index];
      const tarballAt = tarballs.get(job.issue)?.[index];
      if (
        tarballAt === undefined ||
        !container ||
        container.runningAt === null ||
        container.exitedAt === null ||
        container.removedAt === null ||
        !applied ||
        !dispatched ||
        job.claimedAt === null ||
        job.attempt !== 1
      ) {
        incomplete.push(`${job.role} of issue ${job.issue} (attempt ${job.attempt}, ${job.status})`);
        return;
      }
      steps.push({
        issue: job.issue,
        role: job.role,
        dispatchedAt: dispatched.at,
        claimedAt: job.claimedAt,
        tarballAt,
        startCalledAt: container.startCalledAt,
        runningAt: container.runningAt,
        exitedAt: container.exitedAt,
        removedAt: container.removedAt,
        appliedAt: applied.at,
      });
    });
  }
  return { steps, incomplete };
}

/** p50 / p95 (and max) of a list, in ms, fixed width. */
export function formatSpread(values: readonly number[]): string {
  if (values.length === 0) return "      n/a";
  return `p50 ${fmt(quantile(values, 0.5)).padStart(7)}  p95 ${fmt(quantile(values, 0.95)).padStart(7)}  max ${fmt(Math.max(...values)).padStart(7)}`;
}

/** GitHub reads and writes per task and the writes by endpoint. */
export function summarizeGitHubCalls(requests: readonly LoopRequest[], issues: readonly number[]) {
  const calls = requests.filter((request) => !request.endpoint.startsWith("POST /app/"));
  const counted = new Set(issues);
  const perIssue = new Map(
    issues.map((issue) => [issue, { reads: 0, writes: 0, byEndpoint: new Map<string, number>() }]),
  );
  let sharedReads = 0;
  const sharedReadEndpoints = new Map<string, number>();
  const unattributedWrites: string[] = [];
  for (const call of calls) {
    const isRead = call.method === "GET";
    if (call.issue === null) {
      if (isRead) {
        sharedReads += 1;
        sharedReadEndpoints.set(call.endpoint, (sharedReadEndpoints.get(call.endpoint) ?? 0) + 1);
      } else unattributedWrites.push(call.endpoint);
      continue;
    }
    if (!counted.has(call.issue)) continue;
    const entry = perIssue.get(call.issue)!;
    if (isRead) entry.reads += 1;
    else {
      entry.writes += 1;
      entry.byEndpoint.set(call.endpoint, (entry.byEndpoint.get(call.endpoint) ?? 0) + 1);
    }
  }
  // Repository-level reads (the config, the base branch) name no task: each task is charged an equal share.
  const share = issues.length === 0 ? 0 : sharedReads / issues.length;
  const reads = [...perIssue.values()].map((entry) => entry.reads + share);
  const writes = [...perIssue.values()].map((entry) => entry.writes);
  const endpoints = new Set([...perIssue.values()].flatMap((entry) => [...entry.byEndpoint.keys()]));
  const breakdown = [...endpoints]
    .map((endpoint) => {
      const counts = [...perIssue.values()].map((entry) => entry.byEndpoint.get(endpoint) ?? 0);
      return { endpoint, mean: mean(counts), min: Math.min(...counts), max: Math.max(...counts) };
    })
    .sort((a, b) => b.mean - a.mean || a.endpoint.localeCompare(b.endpoint));
  return { reads, writes, breakdown, sharedReads, sharedReadEndpoints, share, unattributedWrites };
}

/** The arithmetic mean. */
export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** One GitHub write of a task, in order: what was called and what it was for. */
export interface TaskWrite {
  method: string;
  endpoint: string;
  purpose: string;
}

/** What a write is for, from its endpoint, what it said (`note`) and how many commits the task made before it. */
function describeWritePurpose(request: LoopRequest, commitsBefore: number): string {
  const said = request.note ? `: ${request.note}` : "";
  switch (request.endpoint) {
    case "POST /git/commits":
      return commitsBefore === 0 ? "the empty plan commit (a PR needs a commit)" : "the agent's commit";
    case "POST /git/refs":
      return "the task branch";
    case "POST /pulls":
      return "the draft PR";
    case "POST /issues/:pr/labels":
      return "the PR's labels";
    case "POST /issues/:issue/comments":
      return `the status comment, created${said}`;
    case "POST /issues/:pr/comments":
      return `a comment on the PR${said}`;
    case "PATCH /issues/comments/:id":
      return `status comment redraw${said}`;
    case "POST /check-runs":
      return `check run created${said}`;
    case "PATCH /check-runs/:id":
      return `check run redraw${said}`;
    case "POST /git/trees":
      return "the agent's tree";
    case "PATCH /git/refs/heads/:branch":
      return "the branch moved to the agent's commit (compare-and-swap)";
    case "POST /pulls/:number/reviews":
      return "the reviewer agent's review";
    case "POST /pulls/:number/requested_reviewers":
      return "reviewers asked (`reviewers:`)";
    case "POST /graphql (createCommitOnBranch)":
      return "the agent's commit, the branch moved to it (compare-and-swap)";
    case "POST /graphql (markPullRequestReadyForReview)":
      return "the PR out of draft";
    case "POST /graphql (markPullRequestReadyForReview + updateIssueComment + updateCheckRun)":
      return `the PR out of draft, status comment and check run drawn in one request${said}`;
    case "POST /graphql (updateIssueComment + updateCheckRun)":
      return `status comment and check run drawn in one request (the PR already ready)${said}`;
    default:
      return request.endpoint.startsWith("POST /graphql (markPullRequestReadyForReview")
        ? `the PR out of draft, with what it could draw in the same request${said}`
        : "(not described)";
  }
}

/**
 * Each task's writes in order, grouped by their sequence of endpoints: the distinct lists with the
 * issues that made each (most common first), so a reader sees what every write of a task costs.
 */
export function listWritesPerTask(
  requests: readonly LoopRequest[],
  issues: readonly number[],
): Array<{ issues: number[]; writes: TaskWrite[] }> {
  const groups = new Map<string, { issues: number[]; writes: TaskWrite[] }>();
  for (const issue of issues) {
    let commits = 0;
    const writes = requests
      .filter(
        (request) => request.issue === issue && request.method !== "GET" && !request.endpoint.startsWith("POST /app/"),
      )
      .sort((a, b) => a.at - b.at)
      .map((request): TaskWrite => {
        const purpose = describeWritePurpose(request, commits);
        if (request.endpoint === "POST /git/commits") commits += 1;
        return { method: request.method, endpoint: request.endpoint.slice(request.method.length + 1), purpose };
      });
    // Redraws say different things (a headline); the grouping is by what was called and what for, not the words.
    const key = writes.map((write) => `${write.endpoint}|${write.purpose.split(":")[0]}`).join("\n");
    const group = groups.get(key) ?? { issues: [], writes };
    group.issues.push(issue);
    groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.issues.length - a.issues.length);
}
