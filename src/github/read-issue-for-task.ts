import type { GitHubClient } from "./octokit.js";

/** What starting a task from the API reads of an issue and its repository. */
export interface IssueForTask {
  repo: { id: number; owner: string; name: string; defaultBranch: string };
  issue: {
    number: number;
    title: string;
    body: string | null;
    updatedAt: string;
    state: string;
    labels: string[];
    isPullRequest: boolean;
  };
}

/** Read a repository (its id and default branch) and one of its issues, as a label webhook would carry them. */
export async function readIssueForTask(
  octokit: GitHubClient,
  params: { owner: string; repo: string; issueNumber: number },
): Promise<IssueForTask> {
  const { data: repo } = await octokit.rest.repos.get({ owner: params.owner, repo: params.repo });
  const { data: issue } = await octokit.rest.issues.get({
    owner: params.owner,
    repo: params.repo,
    issue_number: params.issueNumber,
  });
  return {
    repo: { id: repo.id, owner: repo.owner.login, name: repo.name, defaultBranch: repo.default_branch },
    issue: {
      number: issue.number,
      title: issue.title,
      body: issue.body ?? null,
      updatedAt: issue.updated_at,
      state: issue.state,
      labels: issue.labels.map((label) => (typeof label === "string" ? label : (label.name ?? ""))).filter(Boolean),
      isPullRequest: issue.pull_request !== undefined && issue.pull_request !== null,
    },
  };
}
