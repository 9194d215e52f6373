import { findSenderRole } from "../../github/find-sender-role.js";
import type { GitHubClient } from "../../github/octokit.js";
import { findTrustedActorRole, type RepoRole } from "../../workflow/permissions.js";

/**
 * The role of whoever acted: an actor Foreman trusts by its own credential (`api:<token name>`,
 * whose token role was checked when it took the request, or `operator:<name>` at the command line)
 * has its fixed role (`findTrustedActorRole`) without a read; anyone else's role is GitHub's.
 */
export async function findActorRole(
  octokit: GitHubClient,
  params: { owner: string; repo: string; username: string },
): Promise<RepoRole> {
  return findTrustedActorRole(params.username) ?? findSenderRole(octokit, params);
}
