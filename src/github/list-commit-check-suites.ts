import { readConditionally, type EtagCache, type ReadBudget, type RequestClient } from "./conditional-read.js";

/** A check suite on a commit, as the Checks API lists it. */
export interface CommitCheckSuite {
  id: number;
  headSha: string;
  headBranch: string | null;
  status: string | null;
  conclusion: string | null;
  app: { id: number; slug: string };
}

interface SuiteItem {
  id: number;
  head_sha: string;
  head_branch: string | null;
  status: string | null;
  conclusion: string | null;
  app: { id?: number; slug?: string } | null;
}

/** The check suites of a commit (`GET …/commits/{ref}/check-suites`, up to 100). */
export async function listCommitCheckSuites(
  client: RequestClient,
  params: { owner: string; repo: string; sha: string },
  cache: EtagCache,
  budget: ReadBudget,
): Promise<CommitCheckSuite[]> {
  const answer = await readConditionally<{ check_suites: SuiteItem[] }>(
    client,
    "GET /repos/{owner}/{repo}/commits/{ref}/check-suites",
    { owner: params.owner, repo: params.repo, ref: params.sha, per_page: 100 },
    cache,
    budget,
  );
  return answer.data.check_suites.map((suite) => ({
    id: suite.id,
    headSha: suite.head_sha,
    headBranch: suite.head_branch,
    status: suite.status,
    conclusion: suite.conclusion,
    app: { id: suite.app?.id ?? 0, slug: suite.app?.slug ?? "unknown" },
  }));
}
