import type { Probot } from "probot";
import { traceWork } from "../telemetry/tracing.js";
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
import { readAppBotLogin } from "../github/read-app-bot-login.js";
import { cacheOwnBotLogin, isOwnAppSender } from "./own-bot-login.js";
import {
  CheckSuitePayload,
  InstallationPayload,
  InstallationRepositoriesPayload,
  IssueCommentPayload,
  IssuesPayload,
  parseWebhookPayload,
  PullRequestPayload,
  PullRequestReviewPayload,
  StatusPayload,
  type ParsedPayload,
} from "./webhook-payloads.js";

/** What the webhook handlers need. */
export interface WebhookDeps {
  database: Database;
  intake: Intake;
  policy: RepoPolicy;
}

/** The payload fields every repository event's guard reads. */
interface RepoEventPayload {
  installation?: { id: number } | undefined;
  repository: { full_name: string };
}

/** What a handler needs of Probot's context to check a delivery's payload. */
interface DeliveryContext {
  id: string;
  name: string;
  payload: unknown;
  log: Probot["log"];
}

/**
 * Subscribe to the events Foreman acts on. Handlers only translate the payload into a domain
 * event and store it in the inbox; the worker does the rest, so a delivery is acknowledged fast
 * and an event never lives only in memory.
 */
export function registerWebhooks(app: Probot, deps: WebhookDeps): void {
  // `fields` name the delivery on the debug line; a child logger per delivery would cost every
  // delivery its bindings' serialisation even with debug off.
  const store = async (event: NewInboxEvent | null, log: Probot["log"], fields: Record<string, unknown>) => {
    if (!event) return;
    const stored = await deps.intake.record(event);
    log.debug({ ...fields, deliveryId: event.deliveryId, eventName: event.eventName, stored }, "webhook stored");
  };
  // The payload with the fields Foreman reads, or null: a malformed delivery is dropped with the
  // reason logged (a throw would only make GitHub deliver it again).
  const parse = <T>(context: DeliveryContext, parsed: ParsedPayload<T>): T | null => {
    if (parsed.ok) return parsed.payload;
    context.log.warn(
      { deliveryId: context.id, eventName: context.name, reason: parsed.reason },
      "webhook payload dropped",
    );
    return null;
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
  // The app's own client (app JWT) reads the app's slug, once per process.
  const ownBotLogin = cacheOwnBotLogin(async () => readAppBotLogin(await app.auth()));

  app.on(
    ["issues.labeled", "issues.unlabeled", "issues.closed", "issues.reopened"],
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(IssuesPayload, context.payload));
      const installationId = payload && allowedInstallation(payload);
      if (!payload || installationId === null) return;
      const fields = {
        deliveryId: context.id,
        repo: payload.repository.full_name,
        issue: payload.issue.number,
      };
      await store(adaptIssuesEvent(context.id, payload, installationId), context.log, fields);
    }),
  );

  app.on(
    ["pull_request.labeled", "pull_request.unlabeled", "pull_request.closed", "pull_request.synchronize"],
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(PullRequestPayload, context.payload));
      const installationId = payload && allowedInstallation(payload);
      if (!payload || installationId === null) return;
      const { repository, pull_request: pr } = payload;
      const fields = { deliveryId: context.id, repo: repository.full_name, pr: pr.number };
      // Foreman's own push is reported with the app's bot as sender, possibly before its job has
      // recorded the commit (the one-write push). If the login cannot be read, the delivery fails and
      // is redelivered (the reconciliation sweep), rather than a push being taken for a human's.
      const byForeman = payload.action === "synchronize" && (await isOwnAppSender(payload.sender, ownBotLogin));
      await store(
        adaptPullRequestEvent(
          context.id,
          payload,
          installationId,
          await findPullRequestLane(repository.id, pr.number, pr.head.ref),
          byForeman,
        ),
        context.log,
        fields,
      );
    }),
  );

  app.on(
    "pull_request_review.submitted",
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(PullRequestReviewPayload, context.payload));
      const installationId = payload && allowedInstallation(payload);
      if (!payload || installationId === null) return;
      const { repository, pull_request: pr } = payload;
      const fields = { deliveryId: context.id, repo: repository.full_name, pr: pr.number };
      await store(
        adaptPullRequestReviewEvent(
          context.id,
          payload,
          installationId,
          await findPullRequestLane(repository.id, pr.number, pr.head.ref),
        ),
        context.log,
        fields,
      );
    }),
  );

  app.on(
    "check_suite.completed",
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(CheckSuitePayload, context.payload));
      const installationId = payload && allowedInstallation(payload);
      if (!payload || installationId === null) return;
      const { repository, check_suite: suite } = payload;
      const fields = { deliveryId: context.id, repo: repository.full_name, suiteId: suite.id };
      const taskLane = suite.head_branch
        ? await findLaneForBranch(deps.database.sql, repository.id, suite.head_branch)
        : null;
      await store(
        adaptCheckSuiteEvent(context.id, payload, installationId, taskLane ?? buildRepoCiLane(repository.id)),
        context.log,
        fields,
      );
    }),
  );

  app.on(
    "status",
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(StatusPayload, context.payload));
      const installationId = payload && allowedInstallation(payload);
      if (!payload || installationId === null) return;
      const { repository, sha } = payload;
      const fields = {
        deliveryId: context.id,
        repo: repository.full_name,
        sha,
        status: payload.context,
      };
      // The task whose branch holds the commit, if any: its lane keeps the status in order with the rest.
      let target = { headBranch: null as string | null, lane: buildRepoCiLane(repository.id) };
      for (const branch of listStatusBranches(payload)) {
        const lane = await findLaneForBranch(deps.database.sql, repository.id, branch);
        if (lane !== null) {
          target = { headBranch: branch, lane };
          break;
        }
      }
      await store(adaptStatusEvent(context.id, payload, installationId, target), context.log, fields);
    }),
  );

  app.on(
    "issue_comment.created",
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(IssueCommentPayload, context.payload));
      const installationId = payload && allowedInstallation(payload);
      if (!payload || installationId === null) return;
      const { repository, issue } = payload;
      const fields = { deliveryId: context.id, repo: repository.full_name, issue: issue.number };
      const event = adaptIssueCommentEvent(context.id, payload, installationId);
      // Only a command on a PR needs the database: most comments are not commands.
      const taskLane =
        event && issue.pull_request
          ? await findLaneForPullRequest(deps.database.sql, repository.id, issue.number)
          : null;
      await store(event && taskLane ? { ...event, lane: taskLane } : event, context.log, fields);
    }),
  );

  app.on(
    "installation",
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(InstallationPayload, context.payload));
      if (!payload) return;
      await store(adaptInstallationEvent(context.id, payload), context.log, { deliveryId: context.id });
    }),
  );

  app.on(
    "installation_repositories",
    traced(async (context) => {
      const payload = parse(context, parseWebhookPayload(InstallationRepositoriesPayload, context.payload));
      if (!payload) return;
      await store(adaptInstallationRepositoriesEvent(context.id, payload), context.log, { deliveryId: context.id });
    }),
  );
}

/**
 * A handler run as one delivery: a span (`webhook <event>.<action>`) and the delivery id on every
 * log line, and on the inbox row it stores, so the work the event leads to continues the trace.
 */
function traced<C extends { id: string; name: string; payload: unknown }>(
  handler: (context: C) => Promise<void>,
): (context: C) => Promise<void> {
  return (context) => {
    const action = (context.payload as { action?: unknown }).action;
    const event = typeof action === "string" ? `${context.name}.${action}` : context.name;
    return traceWork(
      `webhook ${event}`,
      { correlation: { deliveryId: context.id }, attributes: { "github.event": event }, kind: "server" },
      () => handler(context),
    );
  };
}
