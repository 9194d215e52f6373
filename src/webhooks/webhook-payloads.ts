import { z } from "zod";

// The webhook payloads Foreman reads, checked at the boundary: only the fields the adapters and
// handlers use, each as GitHub documents it. A payload without them (a truncated delivery, a
// replay by hand, a GitHub Enterprise that omits a field) is dropped with the reason, never a
// crash in a handler (which GitHub would retry), and never an event half filled in.

const Id = z.int().positive();

const Repository = z.object({
  id: Id,
  name: z.string(),
  full_name: z.string(),
  default_branch: z.string(),
  owner: z.object({ login: z.string() }),
});

const Installation = z.object({ id: Id });

const Sender = z.object({ login: z.string(), type: z.string().optional() });

const Label = z.object({ name: z.string() });

/** `issues.*`: what `adaptIssuesEvent` reads. */
export const IssuesPayload = z.object({
  action: z.string(),
  installation: Installation.optional(),
  repository: Repository,
  sender: Sender,
  label: Label.optional(),
  issue: z.object({
    number: Id,
    title: z.string(),
    labels: z.array(Label.nullable()).optional(),
    body: z.string().nullish(),
    pull_request: z.unknown().optional(),
    updated_at: z.string(),
  }),
});
/** A parsed `issues.*` payload. */
export type IssuesPayload = z.infer<typeof IssuesPayload>;

/** `pull_request.*`: what `adaptPullRequestEvent` and its handler read. */
export const PullRequestPayload = z.object({
  action: z.string(),
  installation: Installation.optional(),
  repository: Repository,
  sender: Sender.nullish(),
  label: Label.optional(),
  /** `synchronize`: the head the push replaced. */
  before: z.string().nullish(),
  pull_request: z.object({
    number: Id,
    head: z.object({ ref: z.string(), sha: z.string() }),
    updated_at: z.string(),
    merged: z.boolean().nullish(),
    merge_commit_sha: z.string().nullish(),
  }),
});
/** A parsed `pull_request.*` payload. */
export type PullRequestPayload = z.infer<typeof PullRequestPayload>;

/** `pull_request_review.submitted`: what `adaptPullRequestReviewEvent` and its handler read. */
export const PullRequestReviewPayload = z.object({
  installation: Installation.optional(),
  repository: Repository,
  sender: Sender,
  review: z.object({ id: Id, state: z.string(), body: z.string().nullish(), commit_id: z.string() }),
  pull_request: z.object({ number: Id, head: z.object({ ref: z.string() }) }),
});
/** A parsed `pull_request_review.submitted` payload. */
export type PullRequestReviewPayload = z.infer<typeof PullRequestReviewPayload>;

/** `check_suite.completed`: what `adaptCheckSuiteEvent` and its handler read. */
export const CheckSuitePayload = z.object({
  installation: Installation.optional(),
  repository: Repository,
  sender: Sender,
  check_suite: z.object({
    id: Id,
    head_sha: z.string(),
    head_branch: z.string().nullish(),
    conclusion: z.string().nullish(),
    app: z.object({ id: Id.nullish(), slug: z.string().nullish() }),
    // For red mode: the pushed head (a push to this repository made the suite), the pull
    // requests it matches (one from a fork does not count) and, when named, the suite's repository.
    after: z.string().nullish(),
    pull_requests: z.array(z.object({ head: z.object({ repo: z.object({ id: Id }) }) })),
    repository: z.object({ id: Id.optional() }).optional(),
  }),
});
/** A parsed `check_suite.completed` payload. */
export type CheckSuitePayload = z.infer<typeof CheckSuitePayload>;

/** `status`: what `adaptStatusEvent` and its handler read. */
export const StatusPayload = z.object({
  installation: Installation.optional(),
  repository: Repository,
  sender: Sender,
  id: Id,
  sha: z.string(),
  context: z.string(),
  state: z.string(),
  description: z.string().nullish(),
  target_url: z.string().nullish(),
  branches: z.array(z.object({ name: z.string() })),
});
/** A parsed `status` payload. */
export type StatusPayload = z.infer<typeof StatusPayload>;

/** `issue_comment.created`: what `adaptIssueCommentEvent` and its handler read. */
export const IssueCommentPayload = z.object({
  installation: Installation.optional(),
  repository: Repository,
  sender: Sender,
  comment: z.object({ id: Id, body: z.string().nullish() }),
  issue: z.object({
    number: Id,
    title: z.string(),
    body: z.string().nullish(),
    updated_at: z.string(),
    pull_request: z.unknown().optional(),
  }),
});
/** A parsed `issue_comment.created` payload. */
export type IssueCommentPayload = z.infer<typeof IssueCommentPayload>;

const RepositoryFacts = z.object({ id: Id, full_name: z.string(), private: z.boolean() });

/** `installation.*`: what `adaptInstallationEvent` reads. */
export const InstallationPayload = z.object({
  action: z.string(),
  installation: z.object({
    id: Id,
    account: z
      .object({ login: z.string().optional(), slug: z.string().optional(), type: z.string().optional() })
      .nullable(),
    suspended_at: z.string().nullish(),
  }),
  repositories: z.array(RepositoryFacts).optional(),
});
/** A parsed `installation.*` payload. */
export type InstallationPayload = z.infer<typeof InstallationPayload>;

/** `installation_repositories.*`: what `adaptInstallationRepositoriesEvent` reads. */
export const InstallationRepositoriesPayload = z.object({
  action: z.string(),
  installation: Installation,
  repositories_added: z.array(RepositoryFacts).optional(),
  repositories_removed: z.array(z.object({ id: Id.optional() })).optional(),
});
/** A parsed `installation_repositories.*` payload. */
export type InstallationRepositoriesPayload = z.infer<typeof InstallationRepositoriesPayload>;

/** A payload with the fields Foreman reads, or why it was dropped (the first field that is wrong). */
export type ParsedPayload<T> = { ok: true; payload: T } | { ok: false; reason: string };

/** Check a delivery's payload against its schema; never throws. */
export function parseWebhookPayload<T>(schema: z.ZodType<T>, payload: unknown): ParsedPayload<T> {
  const parsed = schema.safeParse(payload);
  if (parsed.success) return { ok: true, payload: parsed.data };
  const issue = parsed.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join(".") : "payload";
  return { ok: false, reason: `${path}: ${issue?.message ?? "invalid"}` };
}
