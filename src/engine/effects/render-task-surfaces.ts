import { renderCheckRun, decideCheckRunConclusion, type CheckRunView } from "../../github/render-check-run.js";
import { renderStatusComment } from "../../github/render-status-comment.js";
import type { Task } from "../../workflow/task.js";
import { buildEvidenceUrl, buildRepoWebUrl } from "../links.js";
import type { EffectFacts } from "./effect-outcome.js";

/**
 * The status comment's body for the task as stored: shared by its redraw and by the ready effect,
 * which draws it in the same request that takes the PR out of draft (ADR 0017).
 */
export function renderTaskStatusComment(
  task: Task,
  facts: Pick<EffectFacts, "jobs" | "queuePosition">,
  webBaseUrl: string,
): string {
  // The latest job that has started links its log; a task waiting for a container slot shows its place in the queue.
  const latest = facts.jobs.at(-1);
  return renderStatusComment(task, {
    repoUrl: buildRepoWebUrl(webBaseUrl, task.repo),
    logUrl: latest && latest.status !== "queued" ? latest.logUrl : null,
    queuePosition: task.state === "awaiting_agent" ? facts.queuePosition : null,
  });
}

/**
 * The `foreman` check run's view for the task as stored, and the record hash it cites (a completed
 * run only): shared by its redraw and by the ready effect. The task must have a PR.
 */
export function renderTaskCheckRun(
  task: Task & { prNumber: number },
  facts: Pick<EffectFacts, "jobs" | "latestRecordHash">,
  links: { publicUrl: string | null; webBaseUrl: string },
): { view: CheckRunView; recordHash: string | null } {
  // A completed run cites the chain as it stands, so a reader can check the trail it summarises.
  const recordHash = decideCheckRunConclusion(task.state) === null ? null : facts.latestRecordHash;
  // Each step links its job's redacted log (unguessable links; only with a public URL).
  const logUrls = Object.fromEntries(facts.jobs.flatMap((job) => (job.logUrl ? [[job.id, job.logUrl]] : [])));
  const view = renderCheckRun(task, {
    logUrls,
    evidenceUrl: links.publicUrl ? buildEvidenceUrl(links.publicUrl, task.id) : null,
    pullRequestUrl: task.prUrl ?? `${buildRepoWebUrl(links.webBaseUrl, task.repo)}/pull/${task.prNumber}`,
    recordHash,
  });
  return { view, recordHash };
}
