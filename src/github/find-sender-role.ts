import { NO_ROLE, type RepoRole } from "../workflow/permissions.js";
import type { GitHubClient } from "./octokit.js";

/**
 * Ask GitHub for a user's role on a repo: `role_name` (which tells triage and maintain apart) and the
 * legacy `permission`. A fact only; `src/workflow/permissions.ts` decides what the role may do.
 */
export async function findSenderRole(
  octokit: GitHubClient,
  params: { owner: string; repo: string; username: string },
): Promise<RepoRole> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel(params);
    return { role: (data as { role_name?: string }).role_name ?? data.permission, permission: data.permission };
  } catch (error) {
    // 404: not a collaborator (or a bot account): no role at all.
    if ((error as { status?: number }).status === 404) return NO_ROLE;
    throw error;
  }
}
