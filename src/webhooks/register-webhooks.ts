import type { Probot } from "probot";
import type { Database } from "../db/client.js";
import { findLaneForBranch } from "../db/queries/find-lane-for-branch.js";
import { findLaneForPullRequest } from "../db/queries/find-lane-for-pull-request.js";
import { adaptStatusEvent, listStatusBranches } from "./adapt-status-event.js";
import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { isRepoAllowed, type Intake, type RepoPolicy } from "./intake.js";
import { adaptCheckSuiteEvent, buildRepoCiLane } from "./adapt-check-suite-event.js";
import { adaptInstallationEvent, adaptInstallationRepositoriesEvent } from "./adapt-installation-event.js";
import { adaptIssueCommentEvent } from "./adapt-issue-comment-event.js";
import { adaptIssuesEvent } from "./adapt-issues-event.js";
import { adaptPullRequestEvent, buildPullRequestLane } from "./adapt-pull-request-event.js";
import { adaptPullRequestReviewEvent } from "./adapt-pull-request-review-event.js";

/** What the webhook handlers need. */
export interface WebhookDeps {
  database: Database;
  intake: Intake;
  policy: RepoPolicy;
}

/** The payload fields every repository event's guard reads. */
interface RepoEventPayload {
  installation?: { id: number };
  repository: { full_name: string };
}

/**
 * Subscribe to the events Foreman acts on. Handlers only translate the payload into a domain
 * event and store it in the inbox; the worker does the rest, so a delivery is acknowledged fast
 * and an event never lives only in memory.
 */
export function registerWebhooks(app: Probot, deps: WebhookDeps): void {
  const store = async (event: NewInboxEvent | null, log: Probot["log"]) => {
    if (!event) return;
    const stored = await deps.intake.record(event);
    log.debug({ deliveryId: event.deliveryId, eventName: event.eventName, stored }, "webhook stored");
  };
  // The installation a delivery acts for, or null when Foreman must stay silent on the repo.
  const allowedInstallation = (payload: RepoEventPayload): number | null => {
    const installationId = payload.installation?.id;
    return installationId === undefined || !isRepoAllowed(deps.policy, payload.repository.full_name)
      ? null
      : installationId;
  };
  // A PR's events go to its task's issue lane when a task owns it, so they stay in order with the
  // issue's: found by the PR's number, or by its branch before the task has learnt the number (a
  // freeze label put on the draft PR the moment it opened).
  const findPullRequestLane = async (repoId: number, prNumber: number, headRef: string): Promise<string> =>
    (await findLaneForPullRequest(deps.database.sql, repoId, prNumber)) ??
    (await findLaneForBranch(deps.database.sql, repoId, headRef)) ??
    buildPullRequestLane(repoId, prNumber);

  app.on(["issues.labeled", "issues.unlabeled", "issues.closed", "issues.reopened"], async (context) => {
    const installationId = allowedInstallation(context.payload);
    if (installationId === null) return;
    const log = context.log.child({
      deliveryId: context.id,
      repo: context.payload.repository.full_name,
      issue: context.payload.issue.number,
    });
    await store(adaptIssuesEvent(context.id, context.payload, installationId), log);
  });

  app.on(
    ["pull_request.labeled", "pull_request.unlabeled", "pull_request.closed", "pull_request.synchronize"],
    async (context) => {
      const installationId = allowedInstallation(context.payload);
      if (installationId === null) return;
      const { repository, pull_request: pr } = context.payload;
      const log = context.log.child({ deliveryId: context.id, repo: repository.full_name, pr: pr.number });
      await store(
        adaptPullRequestEvent(
          context.id,
          context.payload,
          installationId,
          await findPullRequestLane(repository.id, pr.number, pr.head.ref),
        ),
        log,
      );
    },
  );

  app.on("pull_request_review.submitted", async (context) => {
    const installationId = allowedInstallation(context.payload);
    if (installationId === null) return;
    const { repository, pull_request: pr } = context.payload;
    const log = context.log.child({ deliveryId: context.id, repo: repository.full_name, pr: pr.number });
    await store(
      adaptPullRequestReviewEvent(
        context.id,
        context.payload,
        installationId,
        await findPullRequestLane(repository.id, pr.number, pr.head.ref),
      ),
      log,
    );
  });

  app.on("check_suite.completed", async (context) => {
    const installationId = allowedInstallation(context.payload);
    if (installationId === null) return;
    const { repository, check_suite: suite } = context.payload;
    const log = context.log.child({ deliveryId: context.id, repo: repository.full_name, suiteId: suite.id });
    const taskLane = suite.head_branch
      ? await findLaneForBranch(deps.database.sql, repository.id, suite.head_branch)
      : null;
    await store(
      adaptCheckSuiteEvent(context.id, context.payload, installationId, taskLane ?? buildRepoCiLane(repository.id)),
      log,
    );
  });

  app.on("status", async (context) => {
    const installationId = allowedInstallation(context.payload);
    if (installationId === null) return;
    const { repository, sha } = context.payload;
    const log = context.log.child({
      deliveryId: context.id,
      repo: repository.full_name,
      sha,
      status: context.payload.context,
    });
    // The task whose branch holds the commit, if any: its lane keeps the status in order with the rest.
    let target = { headBranch: null as string | null, lane: buildRepoCiLane(repository.id) };
    for (const branch of listStatusBranches(context.payload)) {
      const lane = await findLaneForBranch(deps.database.sql, repository.id, branch);
      if (lane !== null) {
        target = { headBranch: branch, lane };
        break;
      }
    }
    await store(adaptStatusEvent(context.id, context.payload, installationId, target), log);
  });

  app.on("issue_comment.created", async (context) => {
    const installationId = allowedInstallation(context.payload);
    if (installationId === null) return;
    const { repository, issue } = context.payload;
    const log = context.log.child({ deliveryId: context.id, repo: repository.full_name, issue: issue.number });
    const event = adaptIssueCommentEvent(context.id, context.payload, installationId);
    // Only a command on a PR needs the database: most comments are not commands.
    const taskLane =
      event && issue.pull_request ? await findLaneForPullRequest(deps.database.sql, repository.id, issue.number) : null;
    await store(event && taskLane ? { ...event, lane: taskLane } : event, log);
  });

  app.on("installation", async (context) => {
    await store(adaptInstallationEvent(context.id, context.payload), context.log.child({ deliveryId: context.id }));
  });

  app.on("installation_repositories", async (context) => {
    await store(
      adaptInstallationRepositoriesEvent(context.id, context.payload),
      context.log.child({ deliveryId: context.id }),
    );
  });
}
