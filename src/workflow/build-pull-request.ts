import type { Task } from "./task.js";

/** The message of the empty plan commit that starts every task branch. */
export function buildPlanCommitMessage(task: Pick<Task, "issueNumber" | "issueTitle">): string {
  return `Plan: ${task.issueTitle}\n\nForeman starts work on #${task.issueNumber}. This empty commit opens the branch; agent steps follow.`;
}

/** The draft PR's title and body: the issue's title, a link that closes the issue on merge. */
export function buildDraftPullRequest(
  task: Pick<Task, "issueNumber" | "issueTitle" | "triggerLabel" | "triggeredBy">,
  freezeLabel: string,
): { title: string; body: string } {
  const body = [
    `Closes #${task.issueNumber}`,
    "",
    `Foreman opened this draft for the \`${task.triggerLabel}\` label added by @${task.triggeredBy}.`,
    "Agents push their work here as verified commits; the bot never approves or merges.",
    "",
    `Add the \`${freezeLabel}\` label to freeze it; remove the agent label from the issue to cancel.`,
  ].join("\n");
  return { title: task.issueTitle, body };
}
