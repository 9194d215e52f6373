/**
 * Collects what the agent changed in the workspace, relative to the base commit, using the
 * host-only git directory (so nothing the agent wrote into /workspace/.git is trusted).
 */
import {
  listAddedLines,
  type CollectedChanges,
  type FileChange,
  type FileMode,
  type UnsupportedChange,
} from "./changes.js";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { GitOutputTooLargeError, runGit, streamGit, type GitContext } from "./git.js";
import { DEFAULT_GUARDRAIL_RULES } from "./guardrails.js";

/** Where the workspace is and its host-only git directory. */
export interface WorkspaceGit {
  readonly workspaceDir: string;
  readonly gitDir: string;
}

/** Largest file Foreman will push; GitHub's blob API stops at 100 MB, reviews far earlier. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;

// What git may write about a change besides its content (`--raw`, `--numstat`, sizes, the base
// tree's file list): a million paths fit; beyond it the change is refused, not buffered.
const MAX_LISTING_BYTES = 64 * 1024 * 1024;
// Per object in `cat-file --batch`: "<sha> blob <size>\n" and the trailing newline.
const BATCH_HEADER_BYTES = 64;

// The host-only repository and the time limit of each git command.
interface Git {
  readonly context: GitContext;
  readonly timeoutMs: number | undefined;
}

function runGitIn(git: Git, args: readonly string[]): Promise<Buffer> {
  return runGit(git.context, args, { timeoutMs: git.timeoutMs });
}

function streamGitIn(
  git: Git,
  args: readonly string[],
  options: { input?: string; maxBytes: number },
): Promise<Buffer> {
  return streamGit(git.context, args, { ...options, timeoutMs: git.timeoutMs });
}

const PUSHABLE_MODES = new Set<string>(["100644", "100755", "120000"]);
const utf8 = new TextDecoder("utf-8", { fatal: true });

interface RawEntry {
  readonly oldMode: string;
  readonly newMode: string;
  readonly oldSha: string;
  readonly newSha: string;
  readonly status: string;
  readonly path: string;
}

/**
 * Lists every added, modified and deleted file (untracked ones included) against the base commit.
 * The new versions' sizes are summed from git's blob sizes before any content is read: over
 * `maxDiffBytes`, nothing is read and the changes come back without content
 * (`contentSkippedOver`), for the guardrails to refuse. Git's output is streamed with a cap, so a
 * huge listing is refused too (`GitOutputTooLargeError` becomes the same refusal).
 */
export async function collectChanges(
  workspace: WorkspaceGit,
  options: { maxFileBytes?: number; maxDiffBytes?: number; timeoutMs?: number } = {},
): Promise<CollectedChanges> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const maxDiffBytes = options.maxDiffBytes ?? DEFAULT_GUARDRAIL_RULES.maxDiffBytes;
  const git: Git = {
    context: { gitDir: workspace.gitDir, workTree: workspace.workspaceDir },
    timeoutMs: options.timeoutMs,
  };
  // Stage everything, untracked files included; .gitignore and info/exclude still apply.
  // Uncompressed: hashing is the whole cost of a huge diff, and these objects are never sent anywhere.
  // A repository the agent made inside the workspace is not staged (one without a commit would
  // make `git add` fail outright): it is reported, which the guardrails refuse, and the base's
  // files under it stay as they were. Names Git refuses to index are reported the same way.
  const nested = await findNestedRepositories(workspace.workspaceDir);
  const refused = await stageAll(git, nested);
  const notStaged: UnsupportedChange[] = [
    ...nested.map((path) => ({ path, reason: describeMode("160000") })),
    ...refused.map((path) => ({
      path,
      reason: "a name Git refuses (such as .GIT or .git. in any case, which checkouts would treat as .git)",
    })),
  ];
  try {
    return await readStagedChanges(git, maxFileBytes, maxDiffBytes, notStaged);
  } catch (error) {
    if (!(error instanceof GitOutputTooLargeError)) throw error;
    return {
      changes: [],
      unsupported: notStaged,
      baseFileCount: 0,
      diffBytes: 0,
      largestFiles: [],
      symlinks: new Map(),
      contentSkippedOver: maxDiffBytes,
      listingTooLarge: true,
    };
  }
}

async function readStagedChanges(
  git: Git,
  maxFileBytes: number,
  maxDiffBytes: number,
  notStaged: readonly UnsupportedChange[],
): Promise<CollectedChanges> {
  const diff = (format: string): Promise<Buffer> =>
    streamGitIn(
      git,
      ["diff", "--cached", format, "-z", "--no-abbrev", "--no-renames", "--no-ext-diff", "--no-textconv", "HEAD"],
      { maxBytes: MAX_LISTING_BYTES },
    );
  const raw = parseRaw(await diff("--raw"));
  const baseFileCount = countNul(
    await streamGitIn(git, ["ls-tree", "-r", "-z", "--name-only", "HEAD"], { maxBytes: MAX_LISTING_BYTES }),
  );

  const unsupported: UnsupportedChange[] = [...notStaged];
  const wanted = raw.filter((entry) => entry.status !== "D" && PUSHABLE_MODES.has(entry.newMode));
  const sizes = await readBlobSizes(
    git,
    wanted.flatMap((entry) => [entry.newSha, entry.oldSha]),
  );
  // The byte limit, before any content is read: what the push would upload.
  const newSizes = wanted
    .map((entry) => ({ path: entry.path, bytes: sizes.get(entry.newSha) ?? 0 }))
    .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : 1));
  const diffBytes = newSizes.reduce((sum, file) => sum + file.bytes, 0);
  const largestFiles = newSizes.slice(0, 3);
  if (diffBytes > maxDiffBytes) {
    return {
      changes: raw.flatMap((entry): FileChange[] => {
        if (entry.status !== "D" && !PUSHABLE_MODES.has(entry.newMode)) return [];
        const status = entry.status === "D" ? "deleted" : entry.status === "A" ? "added" : "modified";
        const mode = toMode(status === "deleted" ? entry.oldMode : entry.newMode);
        return [{ path: entry.path, status, mode, binary: false, addedLines: 0, deletedLines: 0, addedText: [] }];
      }),
      unsupported: [
        ...notStaged,
        ...raw
          .filter((entry) => entry.status !== "D" && !PUSHABLE_MODES.has(entry.newMode))
          .map((entry) => ({ path: entry.path, reason: describeMode(entry.newMode) })),
      ].sort(byPath),
      baseFileCount,
      diffBytes,
      largestFiles,
      symlinks: new Map(),
      contentSkippedOver: maxDiffBytes,
    };
  }
  const numstat = parseNumstat(await diff("--numstat"));
  const symlinks = await readIndexSymlinks(git);

  const readable = new Set(wanted.filter((entry) => (sizes.get(entry.newSha) ?? 0) <= maxFileBytes));
  // Previous versions are read within the same byte budget; one left unread (too large, or over
  // the budget) makes every line of its file count as new for the secret scan.
  let previousBudget = maxDiffBytes;
  const previous = [...readable].filter((entry) => {
    const size = sizes.get(entry.oldSha) ?? 0;
    if (entry.status === "A" || size > maxFileBytes || size > previousBudget) return false;
    previousBudget -= size;
    return true;
  });
  const blobs = await readBlobs(
    git,
    [...[...readable].map((entry) => entry.newSha), ...previous.map((entry) => entry.oldSha)],
    sizes,
  );

  const changes: FileChange[] = [];
  for (const entry of raw) {
    const counts = numstat.get(entry.path) ?? { added: 0, deleted: 0, binary: false };
    if (entry.status === "D") {
      changes.push({
        path: entry.path,
        status: "deleted",
        mode: toMode(entry.oldMode),
        binary: counts.binary,
        addedLines: 0,
        deletedLines: counts.deleted,
        addedText: [],
      });
      continue;
    }
    if (!PUSHABLE_MODES.has(entry.newMode)) {
      unsupported.push({ path: entry.path, reason: describeMode(entry.newMode) });
      continue;
    }
    const content = blobs.get(entry.newSha);
    if (content === undefined) {
      unsupported.push({
        path: entry.path,
        reason: `file is ${sizes.get(entry.newSha) ?? "?"} bytes; the limit is ${maxFileBytes} bytes`,
      });
      continue;
    }
    const text = decodeText(content);
    const binary = counts.binary || text === null;
    const before = entry.status === "A" ? "" : (decodeText(blobs.get(entry.oldSha) ?? Buffer.alloc(0)) ?? "");
    changes.push({
      path: entry.path,
      status: entry.status === "A" ? "added" : "modified",
      mode: toMode(entry.newMode),
      ...(entry.status === "A" ? {} : { previousMode: entry.oldMode }),
      content,
      binary,
      addedLines: binary ? 0 : counts.added,
      deletedLines: binary ? 0 : counts.deleted,
      addedText: binary || text === null ? [] : listAddedLines(before, text),
    });
  }
  unsupported.sort(byPath);
  return { changes, unsupported, baseFileCount, diffBytes, largestFiles, symlinks };
}

// Every symlink of the staged tree (the tree after the change), path → target: `ls-files --stage -z`
// gives "<mode> <sha> <stage>\t<path>\0" per entry.
async function readIndexSymlinks(git: Git): Promise<Map<string, string>> {
  const entries: { sha: string; path: string }[] = [];
  const listing = await streamGitIn(git, ["ls-files", "--stage", "-z"], { maxBytes: MAX_LISTING_BYTES });
  for (const record of listing.toString("utf8").split("\0")) {
    const match = /^120000 ([0-9a-f]+) \d\t(.*)$/s.exec(record);
    if (match !== null) entries.push({ sha: match[1] ?? "", path: match[2] ?? "" });
  }
  const shas = entries.map((entry) => entry.sha);
  const blobs = await readBlobs(git, shas, await readBlobSizes(git, shas));
  return new Map(entries.map((entry) => [entry.path, blobs.get(entry.sha)?.toString("utf8") ?? ""]));
}

// `git add --all`, but a name Git refuses to index (`.GIT/x`, `x/.git.`, `GIT~1`) does not stop
// the rest: those paths are returned. Any other failure is Foreman's and rejects.
// Uncompressed: hashing is the whole cost of a huge diff, and these objects are never sent anywhere.
async function stageAll(git: Git, nested: readonly string[]): Promise<string[]> {
  const args = [
    "-c",
    "core.looseCompression=0",
    "add",
    "--all",
    "--ignore-errors",
    "--",
    ".",
    ...nested.map((path) => `:(exclude,literal)${path}`),
  ];
  try {
    await runGitIn(git, args);
    return [];
  } catch (error) {
    const message = error instanceof Error ? error.message : "";
    // git prints each as two lines naming the same path; the backreference finds where it ends.
    const refused = [...message.matchAll(/error: invalid path '([^]*?)'\nerror: unable to add '\1' to index/g)].map(
      (match) => match[1] ?? "",
    );
    if (refused.length === 0) throw error;
    return [...new Set(refused)].sort();
  }
}

// Directories below the root that hold a `.git` (a directory, a file or a link), relative and
// with `/`; symlinks are not followed, and nothing inside a nested repository is looked at.
async function findNestedRepositories(workspaceDir: string): Promise<string[]> {
  const found: string[] = [];
  const visit = async (relativeDir: string): Promise<void> => {
    const entries = await readdir(join(workspaceDir, relativeDir), { withFileTypes: true });
    if (relativeDir !== "" && entries.some((entry) => entry.name === ".git")) {
      found.push(relativeDir);
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || (relativeDir === "" && entry.name === ".git")) continue;
      await visit(relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`);
    }
  };
  await visit("");
  return found.sort();
}

function byPath(a: UnsupportedChange, b: UnsupportedChange): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

// `--raw -z`: ":<old mode> <new mode> <old sha> <new sha> <status>\0<path>\0" per entry.
function parseRaw(output: Buffer): RawEntry[] {
  const fields = output.toString("utf8").split("\0");
  const entries: RawEntry[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode, oldSha, newSha, status] = (fields[i] ?? "").replace(/^:/, "").split(" ");
    if (
      oldMode === undefined ||
      newMode === undefined ||
      oldSha === undefined ||
      newSha === undefined ||
      status === undefined
    )
      continue;
    entries.push({ oldMode, newMode, oldSha, newSha, status: status.charAt(0), path: fields[i + 1] ?? "" });
  }
  return entries;
}

// `--numstat -z`: "<added>\t<deleted>\t<path>\0"; "-\t-" for binaries.
function parseNumstat(output: Buffer): Map<string, { added: number; deleted: number; binary: boolean }> {
  const stats = new Map<string, { added: number; deleted: number; binary: boolean }>();
  for (const record of output.toString("utf8").split("\0")) {
    const match = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(record);
    if (match === null) continue;
    const binary = match[1] === "-";
    stats.set(match[3] ?? "", { added: binary ? 0 : Number(match[1]), deleted: binary ? 0 : Number(match[2]), binary });
  }
  return stats;
}

async function readBlobSizes(git: Git, shas: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (shas.length === 0) return sizes;
  const output = await streamGitIn(git, ["cat-file", "--batch-check"], {
    input: `${shas.join("\n")}\n`,
    maxBytes: MAX_LISTING_BYTES,
  });
  for (const line of output.toString("utf8").split("\n")) {
    const [sha, , size] = line.split(" ");
    if (sha !== undefined && size !== undefined) sizes.set(sha, Number(size));
  }
  return sizes;
}

// `cat-file --batch`: "<sha> <type> <size>\n<content>\n" per object, in request order.
// The output is capped at the sizes git reported, so it is never larger than what was allowed.
async function readBlobs(
  git: Git,
  shas: readonly string[],
  sizes: ReadonlyMap<string, number>,
): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const unique = [...new Set(shas)];
  if (unique.length === 0) return blobs;
  const expected = unique.reduce((sum, sha) => sum + (sizes.get(sha) ?? 0) + BATCH_HEADER_BYTES, 0);
  const output = await streamGitIn(git, ["cat-file", "--batch"], {
    input: `${unique.join("\n")}\n`,
    maxBytes: expected,
  });
  let offset = 0;
  while (offset < output.length) {
    const headerEnd = output.indexOf(10, offset);
    if (headerEnd === -1) break;
    const [sha, type, size] = output.subarray(offset, headerEnd).toString("utf8").split(" ");
    if (sha === undefined || type === "missing" || size === undefined)
      throw new Error(`git cat-file could not read object ${sha ?? "?"}`);
    const start = headerEnd + 1;
    blobs.set(sha, output.subarray(start, start + Number(size)));
    offset = start + Number(size) + 1;
  }
  return blobs;
}

function decodeText(content: Buffer): string | null {
  try {
    return utf8.decode(content);
  } catch {
    return null;
  }
}

function toMode(mode: string): FileMode {
  return mode === "100755" || mode === "120000" ? mode : "100644";
}

function describeMode(mode: string): string {
  return mode === "160000"
    ? "a nested git repository (submodule); Foreman only pushes files"
    : `unsupported file mode ${mode}`;
}

function countNul(output: Buffer): number {
  let count = 0;
  for (const byte of output) if (byte === 0) count += 1;
  return count;
}
