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
import { runGit, type GitContext } from "./git.js";

/** Where the workspace is and its host-only git directory. */
export interface WorkspaceGit {
  readonly workspaceDir: string;
  readonly gitDir: string;
}

/** Largest file Foreman will push; GitHub's blob API stops at 100 MB, reviews far earlier. */
export const DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024;

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

/** Lists every added, modified and deleted file (untracked ones included) against the base commit. */
export async function collectChanges(
  workspace: WorkspaceGit,
  options: { maxFileBytes?: number } = {},
): Promise<CollectedChanges> {
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const git: GitContext = { gitDir: workspace.gitDir, workTree: workspace.workspaceDir };
  // A repository the agent made inside the workspace is not staged (one without a commit would
  // make `git add` fail outright): it is reported, which the guardrails refuse, and the base's
  // files under it stay as they were.
  const nested = await findNestedRepositories(workspace.workspaceDir);
  // Stage everything, untracked files included; .gitignore and info/exclude still apply.
  const refused = await stageAll(git, nested);
  const diff = (format: string): Promise<Buffer> =>
    runGit(git, [
      "diff",
      "--cached",
      format,
      "-z",
      "--no-abbrev",
      "--no-renames",
      "--no-ext-diff",
      "--no-textconv",
      "HEAD",
    ]);
  const raw = parseRaw(await diff("--raw"));
  const numstat = parseNumstat(await diff("--numstat"));
  const baseFileCount = countNul(await runGit(git, ["ls-tree", "-r", "-z", "--name-only", "HEAD"]));

  const unsupported: UnsupportedChange[] = [
    ...nested.map((path) => ({ path, reason: describeMode("160000") })),
    ...refused.map((path) => ({
      path,
      reason: "a name Git refuses (such as .GIT or .git. in any case, which checkouts would treat as .git)",
    })),
  ];
  const wanted = raw.filter((entry) => entry.status !== "D" && PUSHABLE_MODES.has(entry.newMode));
  const sizes = await readBlobSizes(
    git,
    wanted.flatMap((entry) => [entry.newSha, entry.oldSha]),
  );
  const readable = new Set(wanted.filter((entry) => (sizes.get(entry.newSha) ?? 0) <= maxFileBytes));
  // An oversized previous version is not read: then every line counts as new for the secret scan.
  const previous = [...readable].filter(
    (entry) => entry.status !== "A" && (sizes.get(entry.oldSha) ?? 0) <= maxFileBytes,
  );
  const blobs = await readBlobs(git, [
    ...[...readable].map((entry) => entry.newSha),
    ...previous.map((entry) => entry.oldSha),
  ]);

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
      content,
      binary,
      addedLines: binary ? 0 : counts.added,
      deletedLines: binary ? 0 : counts.deleted,
      addedText: binary || text === null ? [] : listAddedLines(before, text),
    });
  }
  unsupported.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { changes, unsupported, baseFileCount };
}

// `git add --all`, but a name Git refuses to index (`.GIT/x`, `x/.git.`, `GIT~1`) does not stop
// the rest: those paths are returned. Any other failure is Foreman's and rejects.
async function stageAll(git: GitContext, nested: readonly string[]): Promise<string[]> {
  const args = ["add", "--all", "--ignore-errors", "--", ".", ...nested.map((path) => `:(exclude,literal)${path}`)];
  try {
    await runGit(git, args);
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

async function readBlobSizes(git: GitContext, shas: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  if (shas.length === 0) return sizes;
  const output = await runGit(git, ["cat-file", "--batch-check"], { input: `${shas.join("\n")}\n` });
  for (const line of output.toString("utf8").split("\n")) {
    const [sha, , size] = line.split(" ");
    if (sha !== undefined && size !== undefined) sizes.set(sha, Number(size));
  }
  return sizes;
}

// `cat-file --batch`: "<sha> <type> <size>\n<content>\n" per object, in request order.
async function readBlobs(git: GitContext, shas: readonly string[]): Promise<Map<string, Buffer>> {
  const blobs = new Map<string, Buffer>();
  const unique = [...new Set(shas)];
  if (unique.length === 0) return blobs;
  const output = await runGit(git, ["cat-file", "--batch"], { input: `${unique.join("\n")}\n` });
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
