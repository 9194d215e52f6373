import type { Octokit } from "@octokit/rest";

/** The slice of Octokit that reading a ref needs (Probot's client and a plain Octokit both fit). */
export type RefReader = { readonly rest: { readonly git: Pick<Octokit["rest"]["git"], "getRef"> } };

/** The head SHA of a branch, or null when there is no such branch. */
export async function findBranchHead(
  octokit: RefReader,
  params: { owner: string; repo: string; branch: string },
): Promise<string | null> {
  try {
    const { data } = await octokit.rest.git.getRef({
      owner: params.owner,
      repo: params.repo,
      ref: `heads/${params.branch}`,
    });
    return data.object.sha;
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}
