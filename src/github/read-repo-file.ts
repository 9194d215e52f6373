import type { GitHubClient } from "./octokit.js";

/** Read a text file from a repo at a ref; null when it does not exist. */
export async function readRepoFile(
  octokit: GitHubClient,
  params: { owner: string; repo: string; path: string; ref?: string },
): Promise<string | null> {
  try {
    const { data } = await octokit.rest.repos.getContent(params);
    if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
    return Buffer.from(data.content, "base64").toString("utf8");
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}
