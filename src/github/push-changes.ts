/**
 * Pushes an agent's diff to the task branch as ONE verified commit, through the Git Data API
 * only: tree (inline content for text, blobs only for binaries) → commit (no author or
 * committer, so GitHub signs it) → compare-and-swap ref update (never forced).
 *
 * Idempotent: if the branch already holds exactly this change on top of the expected head (an
 * earlier attempt crashed after updating the ref), no second commit is made.
 */
import type { Octokit } from "@octokit/rest";
import type { FileChange } from "../agents/changes.js";
import { findBranchHead } from "./find-branch-head.js";

/** The slice of Octokit this needs (so any compatible Octokit, e.g. Probot's, can be passed). */
export type GitDataClient = {
  readonly rest: {
    readonly git: Pick<
      Octokit["rest"]["git"],
      "getRef" | "getCommit" | "createBlob" | "createTree" | "createCommit" | "updateRef"
    >;
  };
};

/** Where to push what. */
export interface PushChangesParams {
  readonly owner: string;
  readonly repo: string;
  /** Branch name without `refs/heads/`. */
  readonly branch: string;
  /** The head the agent worked on; the push only happens if the branch is still there. */
  readonly expectedHeadSha: string;
  readonly message: string;
  readonly changes: readonly Pick<FileChange, "path" | "status" | "mode" | "content" | "binary">[];
  /**
   * Called with the new commit's SHA before the branch is moved to it: the caller records it, so
   * the `synchronize` GitHub then sends is known as Foreman's own push whenever it arrives.
   */
  readonly beforeBranchMoves?: (commitSha: string) => Promise<void>;
}

/** How a push ended. Only `pushed` made a new commit. */
export type PushOutcome =
  | { readonly kind: "pushed"; readonly commitSha: string; readonly treeSha: string }
  | { readonly kind: "already_pushed"; readonly commitSha: string; readonly treeSha: string }
  | { readonly kind: "no_changes"; readonly headSha: string | null }
  | {
      readonly kind: "conflict";
      readonly expectedHeadSha: string;
      readonly actualHeadSha: string | null;
      readonly message: string;
    }
  | { readonly kind: "branch_missing"; readonly message: string };

type TreeEntry = NonNullable<Parameters<Octokit["rest"]["git"]["createTree"]>[0]>["tree"][number];

/** Pushes the changes as one commit on top of `expectedHeadSha`, or reports why it did not. */
export async function pushChanges(octokit: GitDataClient, params: PushChangesParams): Promise<PushOutcome> {
  if (params.changes.length === 0) return { kind: "no_changes", headSha: null };
  const { owner, repo, branch, expectedHeadSha } = params;
  const head = await findBranchHead(octokit, params);
  if (head === null) {
    return {
      kind: "branch_missing",
      message: `Branch ${branch} no longer exists in ${owner}/${repo}; nothing was pushed.`,
    };
  }

  if (head !== expectedHeadSha) {
    // Look before create: is the branch head our own earlier push of this very change?
    const { data: headCommit } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: head });
    const ontoExpected = headCommit.parents.length === 1 && headCommit.parents[0]?.sha === expectedHeadSha;
    if (ontoExpected) {
      const { data: base } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: expectedHeadSha });
      const treeSha = await createChangeTree(octokit, params, base.tree.sha);
      if (treeSha === headCommit.tree.sha) return { kind: "already_pushed", commitSha: head, treeSha };
    }
    return conflict(params, head);
  }

  const { data: base } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: expectedHeadSha });
  const treeSha = await createChangeTree(octokit, params, base.tree.sha);
  if (treeSha === base.tree.sha) return { kind: "no_changes", headSha: head };
  // No author, no committer: GitHub then signs the commit as the app and shows it verified.
  const { data: commit } = await octokit.rest.git.createCommit({
    owner,
    repo,
    message: params.message,
    tree: treeSha,
    parents: [expectedHeadSha],
  });
  await params.beforeBranchMoves?.(commit.sha);
  try {
    await octokit.rest.git.updateRef({ owner, repo, ref: `heads/${branch}`, sha: commit.sha, force: false });
  } catch (error) {
    // 422 "Update is not a fast forward": someone pushed meanwhile. Their commit stays; ours is dropped.
    if ((error as { status?: number }).status !== 422) throw error;
    return conflict(params, await findBranchHead(octokit, params));
  }
  return { kind: "pushed", commitSha: commit.sha, treeSha };
}

// Creates the tree "base tree + changes" (and a blob per binary file) and returns its sha.
async function createChangeTree(
  octokit: GitDataClient,
  params: PushChangesParams,
  baseTreeSha: string,
): Promise<string> {
  const { owner, repo } = params;
  const sorted = [...params.changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const tree: TreeEntry[] = [];
  for (const change of sorted) {
    if (change.status === "deleted") {
      tree.push({ path: change.path, mode: change.mode, type: "blob", sha: null });
    } else if (change.binary) {
      const { data: blob } = await octokit.rest.git.createBlob({
        owner,
        repo,
        content: (change.content ?? Buffer.alloc(0)).toString("base64"),
        encoding: "base64",
      });
      tree.push({ path: change.path, mode: change.mode, type: "blob", sha: blob.sha });
    } else {
      tree.push({
        path: change.path,
        mode: change.mode,
        type: "blob",
        content: (change.content ?? Buffer.alloc(0)).toString("utf8"),
      });
    }
  }
  const { data } = await octokit.rest.git.createTree({ owner, repo, base_tree: baseTreeSha, tree });
  return data.sha;
}

function conflict(params: PushChangesParams, actualHeadSha: string | null): PushOutcome {
  return {
    kind: "conflict",
    expectedHeadSha: params.expectedHeadSha,
    actualHeadSha,
    message:
      `Branch ${params.branch} moved to ${actualHeadSha ?? "an unknown commit"} while the agent worked on ${params.expectedHeadSha}` +
      " (someone else pushed). Nothing was pushed and nothing was forced; the next step starts from the new head.",
  };
}
