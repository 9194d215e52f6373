/**
 * Recognises credentials in added text and in binary files. Pure. Deliberately narrow: each
 * pattern has a distinctive shape, so a violation is worth a human's attention. A credential is
 * also found base64-encoded (two levels deep), split into string literals joined by `+` (on one
 * line or across lines), and in the readable stretches of a binary file (ASCII and UTF-16LE), with
 * the decoder the redactor uses (src/logging/encoded-text.ts).
 */
import type { AddedLine } from "./changes.js";
import { decodeBase64Runs, findJoinedPieces, listPrintableStretches } from "../logging/encoded-text.js";

/** A secret whose literal value must not be committed, by the name it is known by. */
export interface KnownSecret {
  readonly name: string;
  readonly value: string;
}

interface SecretPattern {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly check?: (match: RegExpExecArray) => boolean;
}

// Only bounded repeats (`{20}`, not `{20,}`): V8 runs out of stack on an unbounded one over a
// line of a few MiB, and the scan only needs to know that the shape is there.
const PATTERNS: readonly SecretPattern[] = [
  { kind: "a GitHub token", pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20}/ },
  { kind: "a GitHub fine-grained token", pattern: /\bgithub_pat_[A-Za-z0-9_]{20}/ },
  // AWS's documentation keys end in EXAMPLE (AKIAIOSFODNN7EXAMPLE); they are not credentials.
  {
    kind: "an AWS access key id",
    pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/,
    check: (match) => !match[0].endsWith("EXAMPLE"),
  },
  { kind: "a private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { kind: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10}/ },
  {
    // key = "value" where the key names a credential and the value looks random, not a placeholder.
    // Anchored on the key word, with bounded repeats: `\b[\w.-]*` in front of it made a 200 KB line
    // of "a.a.a." take 80 s.
    kind: "a hard-coded credential",
    pattern:
      /(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key)[\w.-]{0,64}["']?\s{0,8}[:=]\s{0,8}["']([^"'\s]{16,4096})["']/i,
    check: (match) => shannonEntropy(match[1] ?? "") >= 3.5,
  },
];

/**
 * Names the kinds of credential found in a line (empty when none): as written, with its string
 * pieces joined, and inside its base64 runs.
 */
export function findSecretsInLine(line: string, known: readonly KnownSecret[] = []): string[] {
  const kinds = new Set<string>(matchPatterns(line, known));
  const joined = joinPiecesInPlace(line);
  if (joined !== line) {
    for (const kind of matchPatterns(joined, known))
      if (!kinds.has(kind)) kinds.add(`${kind} (split into joined strings)`);
  }
  for (const form of joined === line ? [line] : [line, joined]) {
    for (const run of decodeBase64Runs(form)) {
      for (const kind of matchPatterns(run.text, known)) kinds.add(`${kind} (base64-encoded)`);
    }
  }
  return [...kinds];
}

/** Names the kinds of credential found in the readable stretches of a binary file's content. */
export function findSecretsInBinary(content: Uint8Array, known: readonly KnownSecret[] = []): string[] {
  const kinds = new Set<string>();
  for (const stretch of listPrintableStretches(content)) {
    for (const line of stretch.split(/\r?\n/)) for (const kind of findSecretsInLine(line, known)) kinds.add(kind);
  }
  return [...kinds];
}

/**
 * Joins added lines that continue a string concatenation (`"ghp_abc" +` then `"def"`) and lines of
 * wrapped base64, so that a credential split over lines is seen whole; each joined line keeps the
 * number of its first line.
 */
export function joinSplitLines(lines: readonly AddedLine[]): AddedLine[] {
  const joined: AddedLine[] = [];
  for (const [index, line] of lines.entries()) {
    const last = joined[joined.length - 1];
    const previous = lines[index - 1];
    if (last !== undefined && previous !== undefined && previous.lineNumber + 1 === line.lineNumber) {
      const separator = continuesConcatenation(previous.text, line.text)
        ? " "
        : continuesBase64(previous.text, line.text)
          ? ""
          : null;
      if (separator !== null) {
        joined[joined.length - 1] = {
          lineNumber: last.lineNumber,
          text: `${last.text}${separator}${line.text.trim()}`,
        };
        continue;
      }
    }
    joined.push(line);
  }
  return joined;
}

const QUOTE_THEN_PLUS = /["']\s*\+\s*$/;
const ENDS_WITH_QUOTE = /["']\s*$/;
const PLUS_THEN_QUOTE = /^\s*\+\s*["']/;
const STARTS_WITH_QUOTE = /^\s*["']/;
// A line of `base64 -w 76` or a PEM body: nothing but the alphabet, long enough to be wrapped.
const BASE64_LINE = /^\s*[A-Za-z0-9+/_-]{40,}\s*$/;

function continuesConcatenation(previous: string, next: string): boolean {
  return (
    (QUOTE_THEN_PLUS.test(previous) && STARTS_WITH_QUOTE.test(next)) ||
    (ENDS_WITH_QUOTE.test(previous) && PLUS_THEN_QUOTE.test(next))
  );
}

function continuesBase64(previous: string, next: string): boolean {
  return BASE64_LINE.test(previous) && /^\s*[A-Za-z0-9+/_-]+={0,2}\s*$/.test(next);
}

// `x = "ghp_ab" + "cd"` → `x = "ghp_abcd"`: the pattern for `key = "value"` then sees the value.
function joinPiecesInPlace(line: string): string {
  let result = "";
  let cursor = 0;
  for (const pieces of findJoinedPieces(line)) {
    result += `${line.slice(cursor, pieces.start)}"${pieces.joined}"`;
    cursor = pieces.end;
  }
  return cursor === 0 ? line : result + line.slice(cursor);
}

function matchPatterns(text: string, known: readonly KnownSecret[]): string[] {
  const kinds: string[] = [];
  for (const { kind, pattern, check } of PATTERNS) {
    const match = pattern.exec(text);
    if (match !== null && (check === undefined || check(match))) kinds.push(kind);
  }
  for (const { name, value } of known) if (text.includes(value)) kinds.push(`the value of ${name}`);
  return kinds;
}

/** Bits of entropy per character of a string (0 for ""). */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}
