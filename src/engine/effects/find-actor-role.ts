import { findSenderRole } from "../../github/find-sender-role.js";
import type { GitHubClient } from "../../github/octokit.js";
import { API_ACTOR_ROLE, isApiActor, type RepoRole } from "../../workflow/permissions.js";

/**
 * The role of whoever acted: an API actor (`api:<token name>`, whose token role Foreman checked
 * when it took the request) has `API_ACTOR_ROLE` without a read; anyone else's role is GitHub's.
 */
export async function findActorRole(
  octokit: GitHubClient,
  params: { owner: string; repo: string; username: string },
): Promise<RepoRole> {
  if (isApiActor(params.username)) return API_ACTOR_ROLE;
  return findSenderRole(octokit, params);
}
