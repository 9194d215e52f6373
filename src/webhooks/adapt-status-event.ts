import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type EventOf } from "../workflow/events.js";
import { buildDedupeKey, toTaskRepo } from "./build-inbox-event.js";
import type { StatusPayload } from "./webhook-payloads.js";

/** The commit status states GitHub sends; anything else is dropped. */
const STATES = ["pending", "success", "failure", "error"] as const;

/**
 * `status` → `commit_status_reported`: a commit status (Jenkins, Buildkite, an internal CI) was set
 * on a commit. `headBranch` is the task branch the caller found among the branches holding the
 * commit (null: no task owns one), and `lane` that task's issue lane or the repo's CI lane. Null
 * for a state GitHub does not document.
 */
export function adaptStatusEvent(
  deliveryId: string,
  payload: StatusPayload,
  installationId: number,
  target: { headBranch: string | null; lane: string },
): NewInboxEvent | null {
  const state = STATES.find((candidate) => candidate === payload.state);
  if (state === undefined) return null;
  const repo = toTaskRepo(installationId, payload.repository);
  const event: EventOf<typeof EventType.commitStatusReported> = {
    type: EventType.commitStatusReported,
    repo,
    sha: payload.sha,
    headBranch: target.headBranch,
    context: payload.context,
    state,
    description: payload.description ?? null,
    targetUrl: payload.target_url ?? null,
    sender: payload.sender.login,
  };
  return {
    deliveryId,
    // A context moves pending → success → (re-run) failure on one commit: each state is news once.
    dedupeKey: buildDedupeKey({
      event: "status",
      repo: repo.id,
      sha: payload.sha,
      context: payload.context,
      state,
      id: payload.id,
    }),
    source: "github",
    eventName: "status",
    lane: target.lane,
    event,
  };
}

/** The branch names a status payload says hold its commit (GitHub lists up to 10). */
export function listStatusBranches(payload: StatusPayload): string[] {
  return payload.branches.map((branch) => branch.name);
}
