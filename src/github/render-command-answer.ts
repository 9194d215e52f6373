import { DEFAULT_TASK_CONFIG } from "../workflow/defaults.js";
import type { Task } from "../workflow/task.js";
import { STEP_PURPOSE_WORDS, TASK_STATE_WORDS } from "./task-words.js";

/** What an answer to a `/foreman` command says, and what it may link to (the caller reads or builds it). */
export interface CommandAnswer {
  answer: "status" | "explain" | "refusal" | "note";
  login: string;
  command: string;
  /** A note's text. */
  text: string | null;
  /** A refusal once per person and task, or once per person and issue (a retry after the task ended). */
  refusalScope: "task" | "issue";
  /** The task's jobs with their log links (null without a public URL), oldest first. */
  jobs: ReadonlyArray<{ id: string; role: string; status: string; logUrl: string | null }>;
  /** The repository's page on GitHub (commit links are under it). */
  repoUrl: string;
  /** The task's evidence record, with a public URL. */
  evidenceUrl: string | null;
}

/** The Markdown of the answer to a `/foreman` command: a status, an explanation, a note or a polite refusal. */
export function renderCommandAnswer(task: Task, answer: CommandAnswer): string {
  switch (answer.answer) {
    case "refusal":
      return renderRefusal(answer, task.config?.freezeLabel ?? DEFAULT_TASK_CONFIG.freezeLabel);
    case "status":
      return renderStatus(answer.login, task);
    case "explain":
      return renderExplanation(task, answer);
    case "note":
      return answer.text ?? "";
  }
}

function renderRefusal({ login, command, refusalScope }: CommandAnswer, freezeLabel: string): string {
  const first = `@${login}, sorry: only people with write access to this repository can run \`/foreman ${command}\`, so Foreman did not act on it.`;
  if (refusalScope === "issue") {
    // A retry after the issue's task ended: there is nothing running to freeze.
    return [
      first,
      "",
      "Please ask a maintainer to run it for you, or to add the agent label again.",
      "",
      "<sub>Foreman says this once per person on this issue; it ignores further commands from you here.</sub>",
    ].join("\n");
  }
  return [
    first,
    "",
    `If this task should stop for now, someone with triage access can add the \`${freezeLabel}\` label, which freezes it until the label is removed. Otherwise, please ask a maintainer to run the command for you.`,
    "",
    "<sub>Foreman says this once per person and task; it ignores further commands from you on this task.</sub>",
  ].join("\n");
}

function renderStatus(login: string, task: Task): string {
  const lines = [`@${login}, here is where this task stands.`, "", ...renderFacts(task)];
  if (task.reason) lines.push("", `**Why:** ${task.reason.message}`);
  return lines.join("\n");
}

// The facts status and explain share: state, step, pipeline, CI attempts, pull request.
function renderFacts(task: Task): string[] {
  const { pipeline } = task;
  const maxCiAttempts = task.config?.maxCiAttempts ?? DEFAULT_TASK_CONFIG.maxCiAttempts;
  const lines = [`- **State:** ${describeState(task)} (\`${task.state}\`)`];
  const position =
    pipeline.roles.length > 0 && pipeline.purpose === "pipeline"
      ? `, step ${pipeline.index + 1} of ${pipeline.roles.length}`
      : "";
  lines.push(
    `- **Current step:** ${task.step ? `\`${task.step}\` (${describePurpose(pipeline.purpose)}${position})` : "none right now"}`,
  );
  if (pipeline.roles.length > 0)
    lines.push(`- **Pipeline:** ${pipeline.roles.map((role) => `\`${role}\``).join(" → ")}`);
  lines.push(`- **CI fix attempts:** ${pipeline.ciAttempts} of ${maxCiAttempts} used`);
  if (pipeline.ci) lines.push(`- **Latest CI:** ${pipeline.ci.conclusion} on ${pipeline.ci.sha.slice(0, 7)}`);
  lines.push(`- **Pull request:** ${task.prNumber !== null ? `#${task.prNumber}` : "none yet"}`);
  return lines;
}

function describePurpose(purpose: Task["pipeline"]["purpose"]): string {
  return STEP_PURPOSE_WORDS[purpose] ?? "pipeline step";
}

function describeState(task: Task): string {
  if (task.state !== "frozen") return TASK_STATE_WORDS[task.state].sentence;
  const resumes = task.resumeState ? `; it resumes in \`${task.resumeState}\` when the label is removed` : "";
  return `frozen by ${task.frozenBy ?? "someone"} on the ${task.frozenOn === "pull_request" ? "pull request" : "issue"}${resumes}`;
}

function renderExplanation(task: Task, { login, jobs, repoUrl, evidenceUrl }: CommandAnswer): string {
  const lines = [
    `@${login}, here is what Foreman did on this task and why.`,
    "",
    `**Trigger:** ${task.triggeredBy} added \`${task.triggerLabel}\` to #${task.issueNumber} (task \`${task.id}\`, a ${task.type} task).`,
    "",
    ...renderFacts(task),
    "",
    "**Steps**",
    "",
  ];
  if (task.pipeline.steps.length === 0) lines.push("No agent step has run yet.");
  task.pipeline.steps.forEach((step, index) => {
    const commit = step.commitSha
      ? `pushed [${step.commitSha.slice(0, 7)}](${repoUrl}/commit/${step.commitSha})`
      : "no commit";
    const summary = step.summary ? `: ${step.summary.replace(/\s+/g, " ").trim()}` : "";
    lines.push(
      `${index + 1}. \`${step.role}\` (${describePurpose(step.purpose)}), ${step.status}, ${commit}${summary}`,
    );
  });
  if (task.pipeline.plan)
    lines.push("", "<details><summary>The plan</summary>", "", task.pipeline.plan.trim(), "", "</details>");
  if (task.reason) lines.push("", `**Why:** ${task.reason.message}`);
  lines.push("", "**Links**", "", `- Pull request: ${task.prNumber !== null ? `#${task.prNumber}` : "none yet"}`);
  for (const job of jobs) {
    if (job.logUrl) lines.push(`- [Log of the \`${job.role}\` job](${job.logUrl}) (${job.status})`);
  }
  if (evidenceUrl) lines.push(`- Evidence record (needs an auditor API token): ${evidenceUrl}`);
  return lines.join("\n");
}
