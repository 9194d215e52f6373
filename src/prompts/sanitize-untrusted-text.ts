/** What to do with text that a human reading GitHub would not see but an agent would. */
export interface SanitizeOptions {
  /** Most characters (UTF-16 code units) kept; the rest is replaced by a visible marker. */
  maxChars?: number;
  /** `remove` (default) for Markdown people wrote; `keep` for code and logs, where `<!--` is literal text. */
  htmlComments?: "remove" | "keep";
  /** `remove` (default) drops invisible characters; `reveal` shows them as `<U+202E>` (for diffs under review). */
  invisible?: "remove" | "reveal";
  /** Which end survives truncation: `head` (default) or `tail` (log tails, where the end matters). */
  keep?: "head" | "tail";
}

/** The cap used when a caller names none: generous for an issue body, small enough for a prompt. */
export const DEFAULT_MAX_UNTRUSTED_CHARS = 20_000;

// Unterminated comments run to the end of the text, as a browser would hide them.
// `--!>` also closes a comment in HTML, so text after it is visible and must stay.
const HTML_COMMENT = /<!--[\s\S]*?(?:--!?>|$)/g;

// Markdown "comments": link reference definitions pointing nowhere render as nothing on GitHub.
const MARKDOWN_COMMENT = /^ {0,3}\[[^\]\n]*\]:[ \t]*(?:#|<>)(?:[ \t].*)?$\n?/gm;

// Zero-width, bidi controls, word joiners and invisible operators, BOM, soft hyphen, Arabic letter
// mark, Mongolian vowel separator and the tag block: all render as nothing and can hide text.
const INVISIBLE = /[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu;

// ANSI escape sequences (CI logs are full of colour codes) and the C0/C1 controls other than tab
// and newline: meaningless in a prompt, and able to rewrite a terminal line when echoed.
const ANSI_ESCAPE = /\u001B(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001B]*(?:\u0007|\u001B\\)|[@-Z\\-_])/g;
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/g;

/**
 * Make text from outside Foreman (issues, comments, logs, diffs) safe to paste into a prompt:
 * drop what GitHub hides from people, normalise line endings, and cap the size with a marker.
 */
export function sanitizeUntrustedText(text: string, options: SanitizeOptions = {}): string {
  const maxChars = options.maxChars ?? DEFAULT_MAX_UNTRUSTED_CHARS;
  let clean = text.replace(/\r\n?/g, "\n");
  if (options.htmlComments !== "keep") {
    clean = clean.replace(HTML_COMMENT, "").replace(MARKDOWN_COMMENT, "");
  }
  clean = clean.replace(ANSI_ESCAPE, "");
  clean =
    options.invisible === "reveal"
      ? clean.replace(INVISIBLE, revealCharacter).replace(CONTROL, revealCharacter)
      : clean.replace(INVISIBLE, "").replace(CONTROL, "");
  return truncateText(clean, maxChars, options.keep ?? "head");
}

/** Sanitise a one-line field (title, login, label, path): no line breaks, small cap, marker on the same line. */
export function sanitizeUntrustedLine(text: string, maxChars = 300): string {
  const clean = sanitizeUntrustedText(text, { maxChars: Number.MAX_SAFE_INTEGER })
    .replace(/\s*\n\s*/g, " ")
    .trim();
  if (clean.length <= maxChars) return clean;
  const end = findHeadEnd(clean, maxChars);
  return `${clean.slice(0, end)} [… truncated by Foreman: ${formatCount(clean.length - end)} more characters not shown]`;
}

/** Cut text to `maxChars`, saying how much was cut; never splits a surrogate pair. */
export function truncateText(text: string, maxChars: number, keep: "head" | "tail" = "head"): string {
  if (text.length <= maxChars) return text;
  if (keep === "head") {
    const end = findHeadEnd(text, maxChars);
    const omitted = text.length - end;
    return `${text.slice(0, end)}\n\n[… truncated by Foreman: ${formatCount(omitted)} more characters not shown]`;
  }
  let start = text.length - Math.max(0, maxChars);
  if (start < text.length && isLowSurrogate(text.charCodeAt(start))) start += 1;
  return `[… truncated by Foreman: ${formatCount(start)} earlier characters not shown]\n\n${text.slice(start)}`;
}

/** Format a count with thousands separators, the same on every machine (no locale data involved). */
export function formatCount(count: number): string {
  return String(count).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function revealCharacter(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return `<U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}>`;
}

function findHeadEnd(text: string, maxChars: number): number {
  const end = Math.max(0, maxChars);
  return end > 0 && isHighSurrogate(text.charCodeAt(end - 1)) ? end - 1 : end;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
