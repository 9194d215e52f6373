import { createHash } from "node:crypto";
import { canonicalJson } from "../chain/chain.js";
import type { IssueSnapshot, TaskRepo } from "../workflow/task.js";

/** The repository fields every adapter reads from a payload. */
export interface RepositoryPayload {
  id: number;
  name: string;
  full_name: string;
  default_branch: string;
  owner: { login: string };
}

/** The task-facing view of a payload's repository. */
export function toTaskRepo(installationId: number, repository: RepositoryPayload): TaskRepo {
  return {
    installationId,
    id: repository.id,
    owner: repository.owner.login,
    name: repository.name,
    defaultBranch: repository.default_branch,
  };
}

/**
 * A key for what a delivery means, so two deliveries of the same change (two webhooks, a replay
 * with a new id) store one event, while a genuine repeat later (the label removed and added
 * again) has a different `updated_at` and counts.
 */
export function buildDedupeKey(meaning: Record<string, unknown>): string {
  return `meaning:${createHash("sha256").update(canonicalJson(meaning)).digest("hex")}`;
}

/** The issue's text as a payload carries it: what its task will show the agents. */
export function buildIssueSnapshot(issue: { title: string; body?: string | null; updated_at: string }): IssueSnapshot {
  return { title: issue.title, body: issue.body ?? "", updatedAt: issue.updated_at };
}
