import { readFileSync } from "node:fs";
import Handlebars from "handlebars";
import { DEFAULT_TASK_CONFIG } from "../workflow/defaults.js";
import { ReasonCode, type Task } from "../workflow/task.js";

const TEMPLATE_PATH = new URL("../../prompts/comments/status.md.hbs", import.meta.url);

// Markdown, not HTML: escaping would turn `'` into `&#x27;` on GitHub.
const template = Handlebars.create().compile(readFileSync(TEMPLATE_PATH, "utf8"), { noEscape: true, strict: false });

const HEADLINES: Record<Task["state"], { icon: string; headline: string }> = {
  queued: { icon: "⏳", headline: "queued" },
  preparing: { icon: "🛠️", headline: "preparing the branch and draft PR" },
  awaiting_agent: { icon: "🤖", headline: "draft PR open, waiting for an agent" },
  running: { icon: "⚙️", headline: "an agent is working" },
  awaiting_ci: { icon: "🧪", headline: "changes pushed, waiting for CI" },
  frozen: { icon: "🧊", headline: "frozen" },
  merged: { icon: "✅", headline: "merged" },
  closed: { icon: "⏹️", headline: "PR closed" },
  cancelled: { icon: "⏹️", headline: "stopped" },
  failed: { icon: "❌", headline: "failed" },
};

const FIXES: Partial<Record<string, string>> = {
  [ReasonCode.senderNotAllowed]: "someone with triage, write, maintain or admin access on this repository can add the label.",
  [ReasonCode.configInvalid]: "fix `.github/foreman.yml` on the default branch, then remove and re-add the label.",
  [ReasonCode.githubError]: "check the app's permissions and GitHub's status, then remove and re-add the label to start again.",
  [ReasonCode.agentFailed]: "read the agent's log below; fix what it tripped on (or the issue's description), then remove and re-add the label.",
  [ReasonCode.agentNoChanges]: "make the issue more specific about what should change, then remove and re-add the label.",
  [ReasonCode.configError]: "fix the agent settings named above (`agent`/`profiles` in .github/foreman.yml, or the operator's configuration), then re-add the label.",
  [ReasonCode.infrastructureError]: "this is a problem of the machine that runs Foreman (its Docker host or its GitHub connection), not of your repository: tell the operator, then remove and re-add the label.",
  [ReasonCode.internalError]: "this is a fault in Foreman, not in your repository: tell the operator (the task id is above), then remove and re-add the label to start again.",
};

/** The Markdown of the status comment for a task as it is now. */
export function renderStatusComment(task: Task, webBaseUrl: string, logUrl: string | null = null): string {
  const freezeLabel = task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel;
  const { icon, headline } = HEADLINES[task.state];
  return template({
    icon,
    headline,
    summary: summarize(task, freezeLabel),
    state: task.state,
    resumeState: task.resumeState,
    taskId: task.id,
    triggerLabel: task.triggerLabel,
    triggeredBy: task.triggeredBy,
    branch: task.branch,
    branchUrl: task.branch ? `${webBaseUrl}/${task.repo.owner}/${task.repo.name}/tree/${task.branch}` : null,
    prNumber: task.prNumber,
    logUrl,
    reason: task.reason,
    fix: task.reason ? FIXES[task.reason.code] : undefined,
    freezeLabel,
    // Longer than any run of backticks in the log, so the log cannot close the block early.
    fence: "`".repeat(Math.max(3, ...[...(task.reason?.detail ?? "").matchAll(/`+/g)].map((run) => run[0].length + 1))),
  }).replace(/\n{3,}/g, "\n\n");
}

function summarize(task: Task, freezeLabel: string): string {
  switch (task.state) {
    case "queued":
      return "Checking the label's sender and this repository's `.github/foreman.yml`.";
    case "preparing":
      return "Creating the task branch with a plan commit and opening a draft pull request.";
    case "awaiting_agent":
      return `Draft PR #${task.prNumber} is open on \`${task.branch}\`. The ${task.step ?? "agent"} step starts as soon as a container slot is free.`;
    case "running":
      return `The ${task.step ?? "agent"} step is running in a sandboxed container on \`${task.branch}\`.`;
    case "awaiting_ci":
      return `The ${task.step ?? "agent"} step pushed ${task.headSha?.slice(0, 7) ?? "its work"} to #${task.prNumber}. CI runs next.`;
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
