import type { GitHubClient } from "./octokit.js";

/**
 * Ask people and teams to review a PR. Asking again for a reviewer already asked changes nothing,
 * so this is idempotent; with nobody to ask it makes no request at all.
 */
export async function requestReviewers(
  octokit: GitHubClient,
  params: { owner: string; repo: string; prNumber: number; users: readonly string[]; teams: readonly string[] },
): Promise<{ requested: boolean; problem?: string }> {
  if (params.users.length === 0 && params.teams.length === 0) return { requested: false };
  try {
    await octokit.rest.pulls.requestReviewers({
      owner: params.owner,
      repo: params.repo,
      pull_number: params.prNumber,
      reviewers: [...params.users],
      team_reviewers: [...params.teams],
    });
  } catch (error) {
    // A configured reviewer who is not a collaborator (422) must not fail a task whose work is done:
    // the PR is ready either way; the problem is recorded and shown.
    if ((error as { status?: number }).status !== 422) throw error;
    return {
      requested: false,
      problem: `GitHub refused the reviewers (${(error as Error).message}); check \`reviewers\` in .github/foreman.yml`,
    };
  }
  return { requested: true };
}
