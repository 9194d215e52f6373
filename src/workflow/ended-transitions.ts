import { EffectKind } from "./effects.js";
import { mentionActor } from "./mention-actor.js";
import { EventType, type DomainEvent, type IssueRef } from "./events.js";
import { onCommandReceived } from "./human-transitions.js";
import { maySteerTask } from "./permissions.js";
import type { Task } from "./task.js";
import { unchanged, type TransitionResult } from "./transition-result.js";

/**
 * A finished task changes no more, but it still answers `/foreman` commands about it (status,
 * explain; stop and retry say what applies), so a command on an ended task is never met with silence.
 */
export function transitionEnded(task: Task, event: DomainEvent): TransitionResult {
  // A task whose label was never a trigger here is nobody's business: commands about it meet the silence an issue without a task does.
  if (task.triggerVerdict === "pending" || task.triggerVerdict === "not_a_trigger") return unchanged(task);
  if (event.type === EventType.commandReceived) return onCommandReceived(task, event);
  if (event.type !== EventType.actorChecked || event.action.kind !== "command") return unchanged(task);
  const { login, action } = event;
  const answer = (kind: "status" | "explain" | "refusal" | "note", text?: string): TransitionResult => ({
    next: task,
    effects: [
      {
        kind: EffectKind.answerCommand,
        issueNumber: task.issueNumber,
        answer: kind,
        login,
        command: action.command,
        commentId: action.commentId,
        ...(text ? { text } : {}),
      },
    ],
  });
  if (!maySteerTask(event.role)) {
    // A refused retry on the issue is refused once per person on the issue, as before the end.
    if (action.command === "retry" && action.issue !== undefined) {
      return {
        next: task,
        effects: [
          {
            kind: EffectKind.answerCommand,
            issueNumber: task.issueNumber,
            answer: "refusal",
            login,
            command: action.command,
            commentId: action.commentId,
            refusalScope: "issue",
          },
        ],
      };
    }
    return answer("refusal");
  }
  switch (action.command) {
    case "status":
    case "explain":
      return answer(action.command);
    case "stop":
      return answer(
        "note",
        `${mentionActor(login)}: this task has already ended (\`${task.state}\`); there is nothing to stop.`,
      );
    case "retry":
      if (action.issue !== undefined) return startRetry(task, login, action.commentId, action.issue, answer);
      return answer(
        "note",
        `${mentionActor(login)}: this task has ended (\`${task.state}\`). Comment \`/foreman retry\` on issue #${task.issueNumber} to start a new one, or add the agent label again.`,
      );
  }
}

/**
 * A writer's `/foreman retry` on the issue of this ended task: one new task, at most, per ended
 * task. The first retry is noted on the task and queues the event that starts the new one; a
 * second (two comments before the new task began) is told a retry is already on its way.
 */
function startRetry(
  task: Task,
  login: string,
  commentId: number,
  issue: IssueRef,
  answer: (kind: "note", text: string) => TransitionResult,
): TransitionResult {
  const earlier = task.pipeline.retriedBy;
  if (earlier)
    return answer(
      "note",
      `${mentionActor(login)}: ${mentionActor(earlier.login)} already asked to retry this task; Foreman starts one new task for it. \`/foreman status\` says how it is going.`,
    );
  return {
    next: { ...task, pipeline: { ...task.pipeline, retriedBy: { login, commentId } } },
    effects: [{ kind: EffectKind.startRetryTask, sender: login, commentId, issue }],
  };
}
