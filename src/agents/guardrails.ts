/**
 * Checks an agent's diff before anything is pushed. Pure. Each violation's message is written
 * for the person reading the PR: what was found, where, and what to do about it.
 */
import type { CollectedChanges, FileChange } from "./changes.js";
import { matchesAnyPathGlob } from "./glob.js";
import { findSecretsInBinary, findSecretsInLine, joinSplitLines, type KnownSecret } from "./secret-scan.js";
import { findEscapingSymlinks, MAX_SYMLINK_HOPS } from "./symlinks.js";

/** Names of the guardrail rules. */
export const GUARDRAIL_RULES = Object.freeze({
  maxFiles: "max_files",
  maxChangedLines: "max_changed_lines",
  maxDiffBytes: "max_diff_bytes",
  massDeletion: "mass_deletion",
  protectedPath: "protected_path",
  outsideAllowedPaths: "outside_allowed_paths",
  secret: "secret",
  unscannableBinary: "unscannable_binary",
  symlinkEscape: "symlink_escape",
  unsupportedEntry: "unsupported_entry",
  unreadableEntry: "unreadable_entry",
} as const);

/** One of the guardrail rule names. */
export type GuardrailRule = (typeof GUARDRAIL_RULES)[keyof typeof GUARDRAIL_RULES];

/** One broken rule. */
export interface Violation {
  readonly rule: GuardrailRule;
  readonly path?: string;
  readonly message: string;
}

/** The limits a diff must respect (repo config may tighten them). */
export interface GuardrailRules {
  readonly maxFiles: number;
  readonly maxChangedLines: number;
  /** Bytes of the new versions of added and modified files; measured from blob sizes before any content is read. */
  readonly maxDiffBytes: number;
  /** More deleted files than this is a mass deletion. */
  readonly maxDeletedFiles: number;
  /** Deleting more than this share of the repository's files (at least 3) is a mass deletion. */
  readonly maxDeletedRatio: number;
  readonly protectedPaths: readonly string[];
  /** When set, every changed path must match one of these globs. */
  readonly allowedPaths?: readonly string[];
  readonly secretScan: boolean;
  /** Values of the secrets forwarded to the agent, by variable name: they must not be committed. */
  readonly forwardedSecrets?: Readonly<Record<string, string>>;
}

/** Defaults: generous for real work, tight enough to stop a runaway agent. */
export const DEFAULT_GUARDRAIL_RULES: GuardrailRules = Object.freeze({
  maxFiles: 100,
  maxChangedLines: 5_000,
  maxDiffBytes: 5 * 1024 * 1024,
  maxDeletedFiles: 25,
  maxDeletedRatio: 0.5,
  // CI definitions, Foreman's own settings and prompt overrides, and who must review what: an agent
  // that could change them could change the rules it is judged by.
  protectedPaths: Object.freeze([
    ".github/workflows/**",
    ".github/actions/**",
    ".github/foreman.yml",
    ".github/foreman/**",
    // No slash: at any depth, as GitHub reads it at the root, in .github/ and in docs/.
    "CODEOWNERS",
  ]),
  secretScan: true,
});

/** The verdict on a diff. */
export type GuardrailVerdict =
  { readonly ok: true } | { readonly ok: false; readonly violations: readonly Violation[] };

/** Largest binary file the secret scan reads; a larger one cannot be pushed while the scan is on. */
export const MAX_SCANNED_BINARY_BYTES = 10 * 1024 * 1024;

// A ratio over a handful of files is noise: deleting 2 of 3 files is an ordinary refactor.
const MIN_DELETIONS_FOR_RATIO = 3;

/**
 * Checks a diff against the rules; `context` is what `collectChanges` found besides the changes:
 * the repository's size for the deletion ratio, unsupported entries, the diff's byte size, and
 * every symlink of the tree after the change (links resolve through each other).
 */
export function checkChanges(
  changes: readonly FileChange[],
  rules: GuardrailRules,
  context: Partial<Omit<CollectedChanges, "changes">> = {},
): GuardrailVerdict {
  const violations: Violation[] = [
    ...(context.unsupported ?? []).map((entry) => ({
      rule: GUARDRAIL_RULES.unsupportedEntry,
      path: entry.path,
      message: `\`${entry.path}\` cannot be pushed: ${entry.reason}.`,
    })),
    ...checkSize(changes, rules, context.baseFileCount ?? 0),
    ...checkBytes(changes, rules, context),
    ...changes.flatMap((change) => checkPath(change, rules)),
    ...checkSymlinks(changes, context.symlinks),
    ...(rules.secretScan ? changes.flatMap((change) => checkSecrets(change, rules.forwardedSecrets ?? {})) : []),
  ];
  return violations.length === 0 ? { ok: true } : { ok: false, violations };
}

function checkSize(changes: readonly FileChange[], rules: GuardrailRules, baseFileCount: number): Violation[] {
  const violations: Violation[] = [];
  if (changes.length > rules.maxFiles) {
    violations.push({
      rule: GUARDRAIL_RULES.maxFiles,
      message: `The change touches ${changes.length} files; the limit is ${rules.maxFiles}. Split the issue into smaller ones (a repository can lower this limit in \`guardrails\`, never raise it).`,
    });
  }
  const changedLines = changes.reduce((sum, change) => sum + change.addedLines + change.deletedLines, 0);
  if (changedLines > rules.maxChangedLines) {
    violations.push({
      rule: GUARDRAIL_RULES.maxChangedLines,
      message: `The change adds or removes ${changedLines} lines; the limit is ${rules.maxChangedLines}. Split the issue into smaller ones (a repository can lower this limit in \`guardrails\`, never raise it).`,
    });
  }
  const deleted = changes.filter((change) => change.status === "deleted").length;
  const ratio = baseFileCount > 0 ? deleted / baseFileCount : 0;
  if (deleted > rules.maxDeletedFiles || (deleted >= MIN_DELETIONS_FOR_RATIO && ratio > rules.maxDeletedRatio)) {
    violations.push({
      rule: GUARDRAIL_RULES.massDeletion,
      message: `The change deletes ${deleted} of the repository's ${baseFileCount} files, which looks like a mass deletion. Nothing was pushed; if this is intended, make the deletion by hand.`,
    });
  }
  return violations;
}

const MiB = 1024 * 1024;

function checkBytes(
  changes: readonly FileChange[],
  rules: GuardrailRules,
  context: Partial<Omit<CollectedChanges, "changes">>,
): Violation[] {
  const limit = `the limit is ${describeBytes(rules.maxDiffBytes)}`;
  const advice =
    "Nothing was read or pushed. Leave large generated or binary files out of the change, or split the issue into smaller ones (a repository can lower this limit in `guardrails`, never raise it).";
  if (context.listingTooLarge === true) {
    return [
      {
        rule: GUARDRAIL_RULES.maxDiffBytes,
        message: `The change is too large for git to even list within Foreman's limits; ${limit}. ${advice}`,
      },
    ];
  }
  const bytes =
    context.diffBytes ??
    changes.reduce((sum, change) => sum + (change.status === "deleted" ? 0 : (change.content?.length ?? 0)), 0);
  if (bytes <= rules.maxDiffBytes && context.contentSkippedOver === undefined) return [];
  const largest = (context.largestFiles ?? [])
    .map((file) => `\`${file.path}\` ${describeBytes(file.bytes)}`)
    .join(", ");
  const files = changes.filter((change) => change.status !== "deleted").length;
  return [
    {
      rule: GUARDRAIL_RULES.maxDiffBytes,
      message: `The change writes ${describeBytes(bytes)} of file content in ${files} ${files === 1 ? "file" : "files"}${largest === "" ? "" : ` (the largest: ${largest})`}; ${limit}. ${advice}`,
    },
  ];
}

/** "10.0 MiB (10485760 bytes)": readable, and exact. */
export function describeBytes(bytes: number): string {
  const readable =
    bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : null;
  return readable === null ? `${bytes} bytes` : `${readable} (${bytes} bytes)`;
}

function checkPath(change: FileChange, rules: GuardrailRules): Violation[] {
  const violations: Violation[] = [];
  const protectedBy = rules.protectedPaths.find((pattern) => matchesAnyPathGlob(change.path, [pattern]));
  if (protectedBy !== undefined) {
    violations.push({
      rule: GUARDRAIL_RULES.protectedPath,
      path: change.path,
      message: `\`${change.path}\` is a protected path (${protectedBy}); agents may not ${verb(change)} it. A human must make this change.`,
    });
  }
  if (rules.allowedPaths !== undefined && !matchesAnyPathGlob(change.path, rules.allowedPaths)) {
    violations.push({
      rule: GUARDRAIL_RULES.outsideAllowedPaths,
      path: change.path,
      message: `\`${change.path}\` is outside the paths agents may change in this repository (${rules.allowedPaths.join(", ")}).`,
    });
  }
  return violations;
}

// Resolved physically, through the tree's other links: the base's links were all inside (the unpack
// removes the others), so a link that now leads out does so because of the change.
function checkSymlinks(changes: readonly FileChange[], tree: ReadonlyMap<string, string> | undefined): Violation[] {
  const changed = new Map<string, string>();
  for (const change of changes) {
    if (change.mode === "120000" && change.status !== "deleted" && change.content !== undefined)
      changed.set(change.path, change.content.toString("utf8"));
  }
  return findEscapingSymlinks(new Map([...(tree ?? []), ...changed])).map((escape) => ({
    rule: GUARDRAIL_RULES.symlinkEscape,
    path: escape.path,
    message:
      escape.reason === "too_many_links"
        ? `\`${escape.path}\` is a symlink that goes through more than ${MAX_SYMLINK_HOPS} links; agents may not add those.`
        : changed.has(escape.path)
          ? `\`${escape.path}\` is a symlink pointing outside the repository; agents may not add those.`
          : `\`${escape.path}\` is a symlink that the change makes point outside the repository (through the links it changed); agents may not do that.`,
  }));
}

function checkSecrets(change: FileChange, forwardedSecrets: Readonly<Record<string, string>>): Violation[] {
  const known: KnownSecret[] = Object.entries(forwardedSecrets)
    .filter(([, value]) => value.length >= 8)
    .map(([name, value]) => ({ name, value }));
  const found = (kind: string, where: string): Violation => ({
    rule: GUARDRAIL_RULES.secret,
    path: change.path,
    message: `${where} adds what looks like ${kind}. Nothing was pushed. Remove it, and rotate the credential if it is real.`,
  });
  if (change.binary && change.content !== undefined) {
    if (change.content.length > MAX_SCANNED_BINARY_BYTES) {
      return [
        {
          rule: GUARDRAIL_RULES.unscannableBinary,
          path: change.path,
          message: `\`${change.path}\` is a binary file of ${change.content.length} bytes, too large for the secret scan (the limit is ${MAX_SCANNED_BINARY_BYTES} bytes), so it was not pushed. A human must add it.`,
        },
      ];
    }
    return findSecretsInBinary(change.content, known).map((kind) => found(kind, `The binary file \`${change.path}\``));
  }
  return joinSplitLines(change.addedText).flatMap(({ lineNumber, text }) =>
    findSecretsInLine(text, known).map((kind) => found(kind, `Line ${lineNumber} of \`${change.path}\``)),
  );
}

function verb(change: FileChange): string {
  return change.status === "added" ? "create" : change.status === "deleted" ? "delete" : "modify";
}
