import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type EventOf } from "../workflow/events.js";
import { parseSlashCommand } from "../workflow/parse-slash-command.js";
import { buildPullRequestLane } from "./adapt-pull-request-event.js";
import { buildIssueLane } from "../db/queries/issue-lane.js";
import { buildDedupeKey, buildIssueSnapshot, toTaskRepo } from "./build-inbox-event.js";
import type { IssueCommentPayload } from "./webhook-payloads.js";

/**
 * `issue_comment.created` with a known `/foreman <command>` line → `command_received`; comments by
 * bots, without a command or with an unknown one → null. The lane is the issue's; for a comment on
 * a PR it is the PR's own lane, which the caller replaces with the owning task's lane when known.
 */
export function adaptIssueCommentEvent(
  deliveryId: string,
  payload: IssueCommentPayload,
  installationId: number,
): NewInboxEvent | null {
  // Foreman's own comments (and other apps') quote commands in their help text; never act on them.
  if (payload.sender.type === "Bot") return null;
  const parsed = parseSlashCommand(payload.comment.body ?? "");
  if (parsed === null || !("command" in parsed)) return null;
  const repo = toTaskRepo(installationId, payload.repository);
  const onPullRequest = Boolean(payload.issue.pull_request);
  const event: EventOf<typeof EventType.commandReceived> = {
    type: EventType.commandReceived,
    repo,
    issue: {
      number: payload.issue.number,
      title: payload.issue.title,
      // A retry on the issue may start a task: the issue's text now is what the writer asking saw.
      ...(parsed.command === "retry" && !onPullRequest ? { snapshot: buildIssueSnapshot(payload.issue) } : {}),
    },
    sender: payload.sender.login,
    command: parsed.command,
    commentId: payload.comment.id,
    onPullRequest,
  };
  return {
    deliveryId,
    // One comment is one command, however often it is delivered.
    dedupeKey: buildDedupeKey({ event: "issue_comment.created", repo: repo.id, comment: payload.comment.id }),
    source: "github",
    eventName: "issue_comment.created",
    lane: onPullRequest
      ? buildPullRequestLane(repo.id, payload.issue.number)
      : buildIssueLane(repo.id, payload.issue.number),
    event,
  };
}
