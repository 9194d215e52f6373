import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { DEFAULT_TASK_CONFIG } from "../workflow/defaults.js";
import { ReasonCode, type Task } from "../workflow/task.js";
import { STEP_PURPOSE_WORDS, STEP_STATUS_ICONS, TASK_STATE_WORDS } from "./task-words.js";

const TEMPLATE_PATH = new URL("../../prompts/comments/status.md.hbs", import.meta.url);

// Markdown, not HTML: escaping would turn `'` into `&#x27;` on GitHub.
const template = Handlebars.create().compile(readFileSync(TEMPLATE_PATH, "utf8"), { noEscape: true, strict: false });

const FIXES: Partial<Record<string, string>> = {
  [ReasonCode.senderNotAllowed]:
    "someone with triage, write, maintain or admin access on this repository can add the label.",
  [ReasonCode.configInvalid]: "fix `.github/foreman.yml` on the default branch, then remove and re-add the label.",
  [ReasonCode.githubError]:
    "check the app's permissions and GitHub's status, then remove and re-add the label to start again.",
  [ReasonCode.agentFailed]:
    "read the agent's log below; fix what it tripped on (or the issue's description), then remove and re-add the label.",
  [ReasonCode.agentNoChanges]:
    "make the issue more specific about what should change, then remove and re-add the label.",
  [ReasonCode.configError]:
    "fix the agent settings named above (`agent`/`profiles` in .github/foreman.yml, or the operator's configuration), then re-add the label.",
  [ReasonCode.infrastructureError]:
    "this is a problem of the installation that runs Foreman (its Docker host, its GitHub connection, or the model API and its key), not of your repository: tell the operator, then remove and re-add the label.",
  [ReasonCode.ciFailedTooOften]:
    "push a fix to the branch yourself, or comment `/foreman retry` to give the agents another round.",
  [ReasonCode.sideWriteFailed]:
    "the task goes on. Check that the app has the permissions in app.yml (checks: write; pull requests: write) and that configured `reviewers` are collaborators.",
  [ReasonCode.noCi]:
    "if this repository has no CI, set `ci.whenMissing: ready` in .github/foreman.yml; if its CI is another app, list it under `ci.apps`.",
  [ReasonCode.internalError]:
    "this is a fault in Foreman, not in your repository: tell the operator (the task id is above), then remove and re-add the label to start again.",
};

/** What the status comment shows that the task itself does not say (the caller reads or builds it). */
export interface StatusCommentFacts {
  /** The repository's page on GitHub (its branch link is under it). */
  repoUrl: string;
  /** The latest started job's redacted log, with a public URL. */
  logUrl: string | null;
  /** The place of the task's queued job in the fair queue. */
  queuePosition: number | null;
}

/** The Markdown of the issue's status comment for a task as it is now. */
export function renderStatusComment(task: Task, facts: StatusCommentFacts): string {
  const { repoUrl, logUrl, queuePosition } = facts;
  const freezeLabel = task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel;
  const { icon, headline } = TASK_STATE_WORDS[task.state];
  return template({
    icon,
    headline,
    summary: summarize(task, freezeLabel, queuePosition),
    steps: task.pipeline.steps.map((step) => ({
      mark: STEP_STATUS_ICONS[step.status],
      role: step.role,
      purpose: STEP_PURPOSE_WORDS[step.purpose] ? ` (${STEP_PURPOSE_WORDS[step.purpose]})` : "",
      commit: step.commitSha ? step.commitSha.slice(0, 7) : null,
      summary: step.summary,
      detail: step.detail ?? null,
    })),
    ciAttempts: task.pipeline.ciAttempts,
    maxCiAttempts: task.config?.maxCiAttempts ?? null,
    shadow: task.config?.mode === "shadow",
    plan: task.pipeline.plan,
    state: task.state,
    resumeState: task.resumeState,
    taskId: task.id,
    triggerLabel: task.triggerLabel,
    triggeredBy: task.triggeredBy,
    branch: task.branch,
    branchUrl: task.branch ? `${repoUrl}/tree/${task.branch}` : null,
    prNumber: task.prNumber,
    draft: !["ready_for_review", "merged", "closed"].includes(task.state),
    logUrl,
    reason: task.reason,
    fix: task.reason ? FIXES[task.reason.code] : undefined,
    freezeLabel,
    // Longer than any run of backticks in the log, so the log cannot close the block early.
    fence: "`".repeat(Math.max(3, ...[...(task.reason?.detail ?? "").matchAll(/`+/g)].map((run) => run[0].length + 1))),
  }).replace(/\n{3,}/g, "\n\n");
}

function summarize(task: Task, freezeLabel: string, queuePosition: number | null): string {
  switch (task.state) {
    case "waiting":
      return `CI on \`${task.repo.defaultBranch}\` is failing (red mode), so only bug fixes start here. This task starts by itself when it is green again.`;
    case "ready_for_review":
      return `CI is green and the pipeline is done: #${task.prNumber} is ready for your review. Request changes in a review and Foreman revises; merging is yours.`;
    case "escalated":
      return `CI kept failing on #${task.prNumber}, so Foreman added \`${freezeLabel}\` and stopped. See the PR for what failed and what was tried.`;
    case "completed":
      return "Shadow mode: the agents ran, and nothing was pushed or opened. Their results are below.";
    case "queued":
      return "Checking the label's sender and this repository's `.github/foreman.yml`.";
    case "preparing":
      return "Creating the task branch with a plan commit and opening a draft pull request.";
    case "awaiting_agent": {
      const place =
        queuePosition === null
          ? "as soon as a container slot is free"
          : `when a container slot is free (${ordinal(queuePosition)} in the queue)`;
      return task.prNumber === null
        ? `The ${task.step ?? "agent"} step starts ${place}.`
        : `Draft PR #${task.prNumber} is open on \`${task.branch}\`. The ${task.step ?? "agent"} step starts ${place}.`;
    }
    case "running":
      return `The ${task.step ?? "agent"} step is running in a sandboxed container${task.branch ? ` on \`${task.branch}\`` : ""}.`;
    case "awaiting_ci":
      return `The work is pushed to #${task.prNumber} (head ${task.headSha?.slice(0, 7) ?? "unknown"}). Waiting for CI.`;
    case "frozen":
      return `@${task.frozenBy} added \`${freezeLabel}\` on the ${task.frozenOn === "pull_request" ? "pull request" : "issue"}. Foreman does nothing more until the label is removed; then it resumes where it stopped.`;
    case "merged":
      return `#${task.prNumber} was merged. Thanks for reviewing!`;
    case "closed":
      return `#${task.prNumber} was closed without merging; Foreman stopped.`;
    case "cancelled":
      return "Foreman stopped; it will not push anything more for this task.";
    case "failed":
      return "Foreman could not continue with this task.";
  }
}

function ordinal(n: number): string {
  const suffix =
    n % 100 >= 11 && n % 100 <= 13 ? "th" : (({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th");
  return `${n}${suffix}`;
}
