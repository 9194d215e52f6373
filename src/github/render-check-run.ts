import type { TaskState } from "../workflow/states.js";
import type { StepRecord, Task } from "../workflow/task.js";
import { STEP_PURPOSE_WORDS, STEP_STATUS_ICONS, TASK_STATE_WORDS } from "./task-words.js";

/** The conclusions Foreman gives its `foreman` check run when a task has ended or needs a human. */
export type CheckRunConclusion = "success" | "failure" | "neutral" | "action_required";

/** The `foreman` check run as GitHub takes it: status, conclusion, link and Markdown output. */
export interface CheckRunView {
  status: "in_progress" | "completed";
  conclusion: CheckRunConclusion | null;
  /** Required by GitHub for `action_required`; set on every completed run. */
  detailsUrl: string | null;
  title: string;
  summary: string;
}

/** What the check run cites that the renderer cannot know itself (the caller reads it). */
export interface CheckRunLinks {
  /** The task's page in the compliance API, when Foreman has a public URL. */
  evidenceUrl: string | null;
  /** The PR's web address (the details link when there is no evidence link). */
  pullRequestUrl: string;
  /** The hash of the task's latest compliance record; cited on a completed run. */
  recordHash: string | null;
  /** Each started job's redacted log, by job id (when Foreman has a public URL). */
  logUrls?: Readonly<Record<string, string>>;
}

// GitHub rejects a summary over 65535 characters; stay well under it, counting UTF-16 units
// (never fewer than GitHub's characters).
const MAX_SUMMARY_LENGTH = 60_000;
const MAX_STEP_SUMMARY_LENGTH = 300;
const MAX_REASON_DETAIL_LENGTH = 4_000;

const CONCLUSIONS: Partial<Record<TaskState, CheckRunConclusion>> = {
  ready_for_review: "success",
  merged: "success",
  escalated: "action_required",
  failed: "failure",
  closed: "neutral",
  completed: "neutral",
  cancelled: "neutral",
};

/** The check run's conclusion for a task in this state; null while the task is still working. */
export function decideCheckRunConclusion(state: TaskState): CheckRunConclusion | null {
  return CONCLUSIONS[state] ?? null;
}

/** Render the task as it is now into its `foreman` check run (Markdown, never HTML). */
export function renderCheckRun(task: Task, links: CheckRunLinks): CheckRunView {
  const conclusion = decideCheckRunConclusion(task.state);
  const completed = conclusion !== null;
  const tail = [renderCiAttempts(task), renderReason(task), completed ? renderEvidence(links) : null].filter(
    (part): part is string => part !== null,
  );
  const head = `Foreman task \`${task.id}\` for issue #${task.issueNumber} (\`${task.triggerLabel}\`).`;
  const budget = MAX_SUMMARY_LENGTH - [head, ...tail].reduce((sum, part) => sum + part.length + 2, 0);
  return {
    status: completed ? "completed" : "in_progress",
    conclusion,
    detailsUrl: completed ? (links.evidenceUrl ?? links.pullRequestUrl) : null,
    title: TASK_STATE_WORDS[task.state].title(task),
    summary: [head, renderSteps(task.pipeline.steps, budget, links.logUrls ?? {}), ...tail].join("\n\n"),
  };
}

function renderSteps(steps: readonly StepRecord[], budget: number, logUrls: Readonly<Record<string, string>>): string {
  const heading = "### Steps";
  if (steps.length === 0) return `${heading}\n\n_No step has run yet._`;
  const lines: string[] = [];
  let used = heading.length + 64;
  for (const [index, step] of steps.entries()) {
    const line = renderStep(step, step.status === "queued" ? undefined : logUrls[step.jobId]);
    if (used + line.length + 1 > budget) {
      lines.push(`- … and ${steps.length - index} more steps`);
      break;
    }
    lines.push(line);
    used += line.length + 1;
  }
  return `${heading}\n\n${lines.join("\n")}`;
}

function renderStep(step: StepRecord, logUrl: string | undefined): string {
  const purpose = STEP_PURPOSE_WORDS[step.purpose];
  const parts = [`${STEP_STATUS_ICONS[step.status]} **${step.role}**${purpose ? ` (${purpose})` : ""}`, step.status];
  if (step.commitSha) parts.push(`\`${step.commitSha.slice(0, 7)}\``);
  const summary = step.summary ? oneLine(step.summary, MAX_STEP_SUMMARY_LENGTH) : "";
  if (summary) parts.push(summary);
  if (logUrl) parts.push(`[log](${logUrl})`);
  return `- [${step.status === "succeeded" ? "x" : " "}] ${parts.join(" · ")}`;
}

function renderCiAttempts(task: Task): string | null {
  const attempts = task.pipeline.ciAttempts;
  const max = task.config?.maxCiAttempts;
  if (max === undefined && attempts === 0) return null;
  return `**CI fix attempts:** ${attempts}${max === undefined ? "" : ` of ${max}`}`;
}

function renderReason(task: Task): string | null {
  if (!task.reason) return null;
  const line = `### Why\n\n**${task.reason.code}:** ${oneLine(task.reason.message, 1_000)}`;
  if (!task.reason.detail) return line;
  const detail =
    task.reason.detail.length > MAX_REASON_DETAIL_LENGTH
      ? `…${task.reason.detail.slice(-MAX_REASON_DETAIL_LENGTH)}`
      : task.reason.detail;
  // Longer than any run of backticks in the detail, so it cannot close the block early.
  const fence = "`".repeat(Math.max(3, ...[...detail.matchAll(/`+/g)].map((run) => run[0].length + 1)));
  return `${line}\n\n${fence}\n${detail}\n${fence}`;
}

function renderEvidence(links: CheckRunLinks): string {
  const lines = ["### Evidence", ""];
  if (links.evidenceUrl) lines.push(`- Compliance evidence: ${links.evidenceUrl}`);
  lines.push(
    links.recordHash ? `- Latest compliance record: \`${links.recordHash}\`` : "- Latest compliance record: none yet",
  );
  return lines.join("\n");
}

// An agent's text on one line, capped: it must not break the checklist.
function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
