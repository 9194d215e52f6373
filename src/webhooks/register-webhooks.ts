import type { Probot } from "probot";
import type { Database } from "../db/client.js";
import { findLaneForPullRequest } from "../db/queries/find-lane-for-pull-request.js";
import type { NewInboxEvent } from "../db/queries/insert-inbox-event.js";
import { isRepoAllowed, type Intake, type RepoPolicy } from "../engine/intake.js";
import { adaptInstallationEvent, adaptInstallationRepositoriesEvent } from "./adapt-installation-event.js";
import { adaptIssuesEvent } from "./adapt-issues-event.js";
import { adaptPullRequestEvent, buildPullRequestLane } from "./adapt-pull-request-event.js";

/** What the webhook handlers need. */
export interface WebhookDeps {
  database: Database;
  intake: Intake;
  policy: RepoPolicy;
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

  app.on(["issues.labeled", "issues.unlabeled", "issues.closed", "issues.reopened"], async (context) => {
    const installationId = context.payload.installation?.id;
    if (installationId === undefined || !isRepoAllowed(deps.policy, context.payload.repository.full_name)) return;
    const log = context.log.child({ deliveryId: context.id, repo: context.payload.repository.full_name, issue: context.payload.issue.number });
    await store(adaptIssuesEvent(context.id, context.payload, installationId), log);
  });

  app.on(["pull_request.labeled", "pull_request.unlabeled", "pull_request.closed"], async (context) => {
    const installationId = context.payload.installation?.id;
    if (installationId === undefined || !isRepoAllowed(deps.policy, context.payload.repository.full_name)) return;
    const { repository, pull_request: pr } = context.payload;
    const log = context.log.child({ deliveryId: context.id, repo: repository.full_name, pr: pr.number });
    const lane = (await findLaneForPullRequest(deps.database.sql, repository.id, pr.number)) ?? buildPullRequestLane(repository.id, pr.number);
    await store(adaptPullRequestEvent(context.id, context.payload, installationId, lane), log);
  });

  app.on("installation", async (context) => {
    await store(adaptInstallationEvent(context.id, context.payload), context.log.child({ deliveryId: context.id }));
  });

  app.on("installation_repositories", async (context) => {
    await store(adaptInstallationRepositoriesEvent(context.id, context.payload), context.log.child({ deliveryId: context.id }));
  });
}
