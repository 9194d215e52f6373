/**
 * Pushes an agent's diff to the task branch as ONE verified commit, never forced, by one of two paths
 * (ADR 0014):
 *
 * - `commit_on_branch`, one write: the GraphQL mutation `createCommitOnBranch`, compare-and-swap on
 *   the head the agent worked on (`expectedHeadOid`). It cannot set file modes, so it is taken only
 *   for regular files whose mode does not change, within `MAX_ONE_WRITE_BYTES`.
 * - `git_data`, three writes or more: tree (inline content for text, blobs only for binaries) →
 *   commit (no author or committer, so GitHub signs it) → ref update. Anything else: an executable
 *   file, a symlink, a mode change, a large payload.
 *
 * Idempotent: if the branch already holds this push's commit on top of the expected head (an earlier
 * attempt crashed after the branch moved), no second commit is made. It is known by `ownTrailer`, a
 * line only this job's commits carry, or by an identical tree.
 */
import type { Octokit } from "@octokit/rest";
import type { FileChange } from "../agents/changes.js";
import { findBranchHead } from "./find-branch-head.js";

/** The slice of Octokit this needs (so any compatible Octokit, e.g. Probot's, can be passed). */
export type GitDataClient = Pick<Octokit, "graphql"> & {
  readonly rest: {
    readonly git: Pick<
      Octokit["rest"]["git"],
      "getRef" | "getCommit" | "createBlob" | "createTree" | "createCommit" | "updateRef"
    >;
  };
};

/**
 * The most file content (before base64) sent in one `createCommitOnBranch`. GitHub documents no limit
 * for the mutation; a GraphQL request body is kept well below the sizes its API refuses, and a larger
 * change takes the Git Data path, whose blobs travel one by one.
 */
export const MAX_ONE_WRITE_BYTES = 8 * 1024 * 1024;

/** Where to push what. */
export interface PushChangesParams {
  readonly owner: string;
  readonly repo: string;
  /** Branch name without `refs/heads/`. */
  readonly branch: string;
  /** The head the agent worked on; the push only happens if the branch is still there. */
  readonly expectedHeadSha: string;
  readonly message: string;
  /** A line of `message` that only this push's commits carry (`Foreman-Job: <id>`): how a retry knows its own commit. */
  readonly ownTrailer?: string;
  readonly changes: readonly Pick<FileChange, "path" | "status" | "mode" | "previousMode" | "content" | "binary">[];
  /**
   * Called with the new commit's SHA, so the `synchronize` GitHub then sends is known as Foreman's own
   * push: before the branch moves on the Git Data path, at once after it moved on the one-write path
   * (GitHub makes the commit and moves the branch in one step).
   */
  readonly recordCommit?: (commitSha: string) => Promise<void>;
}

/** Which API made the commit: one GraphQL mutation, or the Git Data API's tree, commit and ref. */
export type PushPath = "commit_on_branch" | "git_data";

/** How a push ended. Only `pushed` made a new commit. */
export type PushOutcome =
  | { readonly kind: "pushed"; readonly commitSha: string; readonly treeSha: string; readonly path: PushPath }
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

const COMMIT_ON_BRANCH = `mutation ($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) {
    commit { oid tree { oid } }
  }
}`;

interface CommitOnBranchAnswer {
  createCommitOnBranch: { commit: { oid: string; tree: { oid: string } } } | null;
}

/** Which path a change takes: one write when GitHub can represent every file of it without a mode. */
export function choosePushPath(changes: PushChangesParams["changes"]): PushPath {
  let bytes = 0;
  for (const change of changes) {
    if (change.status === "deleted") continue;
    // createCommitOnBranch writes regular files only and keeps no mode it is not told.
    if (change.mode !== "100644") return "git_data";
    if (change.status === "modified" && change.previousMode !== "100644") return "git_data";
    bytes += change.content?.length ?? 0;
  }
  return bytes <= MAX_ONE_WRITE_BYTES ? "commit_on_branch" : "git_data";
}

/** Pushes the changes as one commit on top of `expectedHeadSha`, or reports why it did not. */
export async function pushChanges(octokit: GitDataClient, params: PushChangesParams): Promise<PushOutcome> {
  if (params.changes.length === 0) return { kind: "no_changes", headSha: null };
  const head = await findBranchHead(octokit, params);
  if (head === null) return branchMissing(params);
  if (head !== params.expectedHeadSha) return lookForOwnCommit(octokit, params, head);
  return choosePushPath(params.changes) === "commit_on_branch"
    ? commitOnBranch(octokit, params)
    : pushThroughGitData(octokit, params);
}

// One write. Never re-sent by the HTTP layer (a POST to /graphql, `isSafeToResend`): a second attempt
// is a new call of pushChanges, which finds the first one's commit.
async function commitOnBranch(octokit: GitDataClient, params: PushChangesParams): Promise<PushOutcome> {
  const { owner, repo, branch, expectedHeadSha } = params;
  const [headline = "", ...rest] = params.message.split("\n");
  const sorted = [...params.changes].sort(byPath);
  const input = {
    branch: { repositoryNameWithOwner: `${owner}/${repo}`, branchName: branch },
    expectedHeadOid: expectedHeadSha,
    message: { headline, body: rest.join("\n").replace(/^\n+/, "") },
    fileChanges: {
      additions: sorted
        .filter((change) => change.status !== "deleted")
        .map((change) => ({ path: change.path, contents: (change.content ?? Buffer.alloc(0)).toString("base64") })),
      deletions: sorted.filter((change) => change.status === "deleted").map((change) => ({ path: change.path })),
    },
  };
  let answer: CommitOnBranchAnswer;
  try {
    answer = await octokit.graphql<CommitOnBranchAnswer>(COMMIT_ON_BRANCH, { input });
  } catch (error) {
    // STALE_DATA: the branch is no longer where the agent started. Ours from an earlier attempt, or someone else's.
    if (!isStaleHead(error)) throw error;
    const moved = await findBranchHead(octokit, params);
    if (moved === null) return branchMissing(params);
    return lookForOwnCommit(octokit, params, moved);
  }
  const commit = answer.createCommitOnBranch?.commit;
  if (!commit) throw new Error(`createCommitOnBranch on ${owner}/${repo}@${branch} answered without a commit.`);
  await params.recordCommit?.(commit.oid);
  return { kind: "pushed", commitSha: commit.oid, treeSha: commit.tree.oid, path: "commit_on_branch" };
}

async function pushThroughGitData(octokit: GitDataClient, params: PushChangesParams): Promise<PushOutcome> {
  const { owner, repo, branch, expectedHeadSha } = params;
  const { data: base } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: expectedHeadSha });
  const treeSha = await createChangeTree(octokit, params, base.tree.sha);
  if (treeSha === base.tree.sha) return { kind: "no_changes", headSha: expectedHeadSha };
  // No author, no committer: GitHub then signs the commit as the app and shows it verified.
  const { data: commit } = await octokit.rest.git.createCommit({
    owner,
    repo,
    message: params.message,
    tree: treeSha,
    parents: [expectedHeadSha],
  });
  await params.recordCommit?.(commit.sha);
  try {
    await octokit.rest.git.updateRef({ owner, repo, ref: `heads/${branch}`, sha: commit.sha, force: false });
  } catch (error) {
    // 422 "Update is not a fast forward": someone pushed meanwhile. Their commit stays; ours is dropped.
    if ((error as { status?: number }).status !== 422) throw error;
    return conflict(params, await findBranchHead(octokit, params));
  }
  return { kind: "pushed", commitSha: commit.sha, treeSha, path: "git_data" };
}

// Look before create: is the branch head our own earlier push of this very change? By its trailer,
// else by its tree (which costs a tree write, off the happy path).
async function lookForOwnCommit(octokit: GitDataClient, params: PushChangesParams, head: string): Promise<PushOutcome> {
  const { owner, repo, expectedHeadSha } = params;
  const { data: headCommit } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: head });
  const ontoExpected = headCommit.parents.length === 1 && headCommit.parents[0]?.sha === expectedHeadSha;
  if (!ontoExpected) return conflict(params, head);
  if (params.ownTrailer && headCommit.message.split("\n").includes(params.ownTrailer))
    return { kind: "already_pushed", commitSha: head, treeSha: headCommit.tree.sha };
  const { data: base } = await octokit.rest.git.getCommit({ owner, repo, commit_sha: expectedHeadSha });
  const treeSha = await createChangeTree(octokit, params, base.tree.sha);
  if (treeSha === headCommit.tree.sha) return { kind: "already_pushed", commitSha: head, treeSha };
  return conflict(params, head);
}

// GitHub's answer when `expectedHeadOid` is not the branch head: an error of type STALE_DATA.
function isStaleHead(error: unknown): boolean {
  const errors = (error as { errors?: readonly { type?: string; message?: string }[] }).errors;
  return (errors ?? []).some(
    (entry) => entry.type === "STALE_DATA" || /Expected branch to point to/.test(entry.message ?? ""),
  );
}

// Creates the tree "base tree + changes" (and a blob per binary file) and returns its sha.
async function createChangeTree(
  octokit: GitDataClient,
  params: PushChangesParams,
  baseTreeSha: string,
): Promise<string> {
  const { owner, repo } = params;
  const sorted = [...params.changes].sort(byPath);
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

function branchMissing(params: PushChangesParams): PushOutcome {
  return {
    kind: "branch_missing",
    message: `Branch ${params.branch} no longer exists in ${params.owner}/${params.repo}; nothing was pushed.`,
  };
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
