import type { GitHubClient } from "./octokit.js";

/** Roles that may start, freeze or stop Foreman on a repository: triage and above. */
const ALLOWED_ROLES = new Set(["admin", "maintain", "write", "triage"]);

/** A sender's role on a repository, and whether it may trigger Foreman. */
export interface SenderRole {
  role: string;
  allowed: boolean;
}

/**
 * Ask GitHub for a user's role on a repo. `role_name` distinguishes triage and maintain (the legacy
 * `permission` field folds them into read and write); custom roles fall back to `permission`.
 */
export async function findSenderRole(octokit: GitHubClient, params: { owner: string; repo: string; username: string }): Promise<SenderRole> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel(params);
    const role = (data as { role_name?: string }).role_name ?? data.permission;
    const allowed = ALLOWED_ROLES.has(role) || data.permission === "admin" || data.permission === "write";
    return { role, allowed };
  } catch (error) {
    // 404: not a collaborator (or a bot account) — no role at all.
    if ((error as { status?: number }).status === 404) return { role: "none", allowed: false };
    throw error;
  }
}
