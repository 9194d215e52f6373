import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { EventType, type EventOf } from "../workflow/events.js";
import { buildDedupeKey, toTaskRepo } from "./build-inbox-event.js";
import type { CheckSuitePayload } from "./webhook-payloads.js";

/**
 * `check_suite.completed` → `check_suite_completed`. `lane` is the issue lane of the task owning
 * the suite's branch, or the repo's CI lane (`buildRepoCiLane`) for other branches; the caller
 * supplies it.
 */
export function adaptCheckSuiteEvent(
  deliveryId: string,
  payload: CheckSuitePayload,
  installationId: number,
  lane: string,
): NewInboxEvent {
  const repo = toTaskRepo(installationId, payload.repository);
  const suite = payload.check_suite;
  const conclusion = suite.conclusion ?? "neutral";
  const event: EventOf<typeof EventType.checkSuiteCompleted> = {
    type: EventType.checkSuiteCompleted,
    repo,
    suiteId: suite.id,
    headSha: suite.head_sha,
    headBranch: suite.head_branch ?? null,
    app: suite.app.slug ?? "unknown",
    // Typed nullable by the webhook schema; GitHub always sends it for a suite. 0 matches no app.
    appId: suite.app.id ?? 0,
    conclusion,
    sender: payload.sender.login,
    onDefaultBranch: isOwnDefaultBranchSuite(payload),
  };
  return {
    deliveryId,
    // A re-run completes the same suite again, possibly with another conclusion: that is new.
    dedupeKey: buildDedupeKey({
      event: "check_suite.completed",
      repo: repo.id,
      suite: suite.id,
      conclusion,
      sha: suite.head_sha,
    }),
    source: "github",
    eventName: "check_suite.completed",
    lane,
    event,
  };
}

/**
 * Whether a suite ran on the repository's own default branch, not on a branch of the same name in a
 * fork: its head branch is the default branch, a push to this repository made it (GitHub sets the
 * suite's `after` to the pushed head; the Checks API sees no pushes to forks), no pull request it
 * matches comes from another repository, and the suite's repository, when the payload names one, is
 * this repository.
 */
export function isOwnDefaultBranchSuite(payload: CheckSuitePayload): boolean {
  const suite = payload.check_suite;
  const repositoryId = payload.repository.id;
  const suiteRepository = suite.repository;
  return (
    suite.head_branch === payload.repository.default_branch &&
    suite.after === suite.head_sha &&
    suite.pull_requests.every((pr) => pr.head.repo.id === repositoryId) &&
    (suiteRepository?.id === undefined || suiteRepository.id === repositoryId)
  );
}

/** The lane of a repository's CI results on branches no task owns (the default branch going red or green). */
export function buildRepoCiLane(repoId: number): string {
  return `repo:${repoId}:ci`;
}
