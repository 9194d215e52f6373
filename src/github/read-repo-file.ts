import type { GitHubClient } from "./octokit.js";

/** The largest file GitHub's contents API returns with its content (1 MiB); larger files come without it. */
export const CONTENTS_API_LIMIT_BYTES = 1024 * 1024;

/** A repo file too large for the contents API to return: reading it as empty would be wrong. */
export class RepoFileTooLargeError extends Error {
  readonly path: string;
  readonly size: number;

  constructor(path: string, size: number) {
    super(
      `${path} is ${size} bytes; GitHub's contents API returns files up to ${CONTENTS_API_LIMIT_BYTES} bytes (1 MB), so Foreman cannot read it. Make the file smaller.`,
    );
    this.name = "RepoFileTooLargeError";
    this.path = path;
    this.size = size;
  }
}

/**
 * Read a text file from a repo at a ref; null when it does not exist. A file over 1 MB, which the
 * contents API answers without its content, throws `RepoFileTooLargeError` rather than reading as empty.
 */
export async function readRepoFile(
  octokit: GitHubClient,
  params: { owner: string; repo: string; path: string; ref?: string },
): Promise<string | null> {
  try {
    const { data } = await octokit.rest.repos.getContent(params);
    if (Array.isArray(data) || data.type !== "file" || !("content" in data)) return null;
    // Over 1 MB GitHub sends `encoding: "none"` and empty content (the size is still right).
    const withoutContent = (data.encoding as string) === "none" || (data.content === "" && data.size > 0);
    if (withoutContent || data.size > CONTENTS_API_LIMIT_BYTES) throw new RepoFileTooLargeError(params.path, data.size);
    return Buffer.from(data.content, "base64").toString("utf8");
  } catch (error) {
    if ((error as { status?: number }).status === 404) return null;
    throw error;
  }
}
