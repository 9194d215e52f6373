import { readConditionally, type EtagCache, type ReadBudget, type RequestClient } from "./conditional-read.js";

/** A repository's identity and default branch. */
export interface RepositoryFacts {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
}

/** Read a repository (`GET /repos/{owner}/{repo}`). */
export async function readRepository(
  client: RequestClient,
  params: { owner: string; repo: string },
  cache: EtagCache,
  budget: ReadBudget,
): Promise<RepositoryFacts> {
  const { data } = await readConditionally<{
    id: number;
    name: string;
    default_branch: string;
    owner: { login: string };
  }>(client, "GET /repos/{owner}/{repo}", { owner: params.owner, repo: params.repo }, cache, budget);
  return { id: data.id, owner: data.owner.login, name: data.name, defaultBranch: data.default_branch };
}
