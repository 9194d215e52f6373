/**
 * The diff an agent produced, as plain data: collected on the host from the workspace,
 * checked by the guardrails, pushed by `pushChanges`.
 */

/** Git file modes Foreman writes: regular, executable, symlink. */
export type FileMode = "100644" | "100755" | "120000";

/** A line the change adds, with its 1-based line number in the new file. */
export interface AddedLine {
  readonly lineNumber: number;
  readonly text: string;
}

/** One changed path relative to the workspace's base commit. */
export interface FileChange {
  /** Repository-relative, `/`-separated. */
  readonly path: string;
  readonly status: "added" | "modified" | "deleted";
  /** The new mode; for a deletion, the mode the file had. */
  readonly mode: FileMode;
  /** For a modification, git's mode of the file before (`160000` for a submodule): a change of mode decides how it is pushed. */
  readonly previousMode?: string;
  /** New content (for a symlink: its target). Absent for deletions. */
  readonly content?: Buffer;
  /** True when the content is not UTF-8 text (pushed as a base64 blob). */
  readonly binary: boolean;
  /** Lines added and deleted, as `git diff --numstat` counts them; 0 for binaries. */
  readonly addedLines: number;
  readonly deletedLines: number;
  /** Text of the lines that are new in this file (for the secret scan); empty for binaries and deletions. */
  readonly addedText: readonly AddedLine[];
}

/** A path in the workspace that cannot be pushed as a file change, and why. */
export interface UnsupportedChange {
  readonly path: string;
  readonly reason: string;
}

/** Everything `collectChanges` found. */
export interface CollectedChanges {
  readonly changes: readonly FileChange[];
  readonly unsupported: readonly UnsupportedChange[];
  /** Number of files in the base commit (for the mass-deletion ratio). */
  readonly baseFileCount: number;
  /** Every symlink of the tree after the change (path → target), for resolving links through each other. */
  readonly symlinks: ReadonlyMap<string, string>;
  /** Bytes of the new versions of the added and modified files, from git's blob sizes (read before any content). */
  readonly diffBytes: number;
  /** The largest of those files, largest first (at most 3), to name in a refusal. */
  readonly largestFiles: readonly { readonly path: string; readonly bytes: number }[];
  /**
   * Set when the diff was over the byte limit: `changes` then carry no content, line counts or added
   * text (none was read), and the guardrails refuse them. The number is the limit that applied.
   */
  readonly contentSkippedOver?: number;
  /** Set when git's listing of the change itself (paths, sizes) was too large to read. */
  readonly listingTooLarge?: true;
}

/**
 * Lines of `next` that `previous` does not account for, compared as multisets: a line that
 * only moved is not new. Close to the diff's "+" lines, and exact for what a secret scan needs.
 */
export function listAddedLines(previous: string, next: string): AddedLine[] {
  const available = new Map<string, number>();
  for (const line of splitLines(previous)) available.set(line, (available.get(line) ?? 0) + 1);
  const added: AddedLine[] = [];
  for (const [index, line] of splitLines(next).entries()) {
    const count = available.get(line) ?? 0;
    if (count > 0) available.set(line, count - 1);
    else added.push({ lineNumber: index + 1, text: line });
  }
  return added;
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  // "a\nb\n" has two lines, not three.
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}
