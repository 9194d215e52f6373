/**
 * Finds text hidden from a plain pattern match: base64 runs (decoded, up to two levels deep),
 * string literals split by `+`, and readable stretches of binary data. Pure. The one decoder that
 * both the redactor (src/logging/redact.ts) and the agents' secret scan (src/agents/secret-scan.ts)
 * use, so a form one of them sees through the other does too.
 */

/** A base64 run in a text and what it decodes to, as readable text. */
export interface DecodedRun {
  /** Where the outermost run starts and ends in the scanned text (what to replace). */
  readonly start: number;
  readonly end: number;
  /** The readable text of the decoded bytes; for a nested run, of the inner level. */
  readonly text: string;
  /** 1 for a run in the text itself, 2 for a run inside a decoded run. */
  readonly depth: number;
}

/** How deep base64 inside base64 is decoded. */
export const MAX_BASE64_DEPTH = 2;

// A credential worth finding is 16+ characters, 24+ once encoded. Both alphabets (standard and
// URL-safe); Node's decoder reads either. `+`, not `{24,}`: V8 runs out of stack on a counted
// repeat over a run of a few MiB.
const BASE64_RUN = /[A-Za-z0-9+/_-]+={0,2}/g;
const MIN_BASE64_RUN = 24;
// Printable ASCII and the whitespace of text files.
const MIN_STRETCH = 12;

/** Decodes every base64 run in a text, and runs inside those, to `maxDepth` levels. */
export function decodeBase64Runs(text: string, maxDepth: number = MAX_BASE64_DEPTH): DecodedRun[] {
  const decoded: DecodedRun[] = [];
  collectRuns(text, 1, maxDepth, null, decoded);
  return decoded;
}

function collectRuns(
  text: string,
  depth: number,
  maxDepth: number,
  outer: { start: number; end: number } | null,
  into: DecodedRun[],
): void {
  for (const match of text.matchAll(BASE64_RUN)) {
    if (match[0].length < MIN_BASE64_RUN) continue;
    const readable = listPrintableStretches(Buffer.from(match[0], "base64")).join("\n");
    if (readable === "") continue;
    const span = outer ?? { start: match.index, end: match.index + match[0].length };
    into.push({ ...span, text: readable, depth });
    if (depth < maxDepth) collectRuns(readable, depth + 1, maxDepth, span, into);
  }
}

/**
 * The readable stretches of binary data, as `strings` finds them: runs of printable ASCII (tabs
 * and line breaks included) and of UTF-16LE text, each at least 12 characters long.
 */
export function listPrintableStretches(bytes: Uint8Array, minLength: number = MIN_STRETCH): string[] {
  const stretches: string[] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i += 1) {
    if (i < bytes.length && isPrintable(bytes[i]!)) {
      if (start === -1) start = i;
    } else if (start !== -1) {
      if (i - start >= minLength)
        stretches.push(Buffer.from(bytes.buffer, bytes.byteOffset + start, i - start).toString("latin1"));
      start = -1;
    }
  }
  stretches.push(...listUtf16Stretches(bytes, minLength));
  return stretches;
}

// UTF-16LE ASCII: a printable byte then a zero byte, at either alignment.
function listUtf16Stretches(bytes: Uint8Array, minLength: number): string[] {
  const stretches: string[] = [];
  for (const alignment of [0, 1]) {
    let chars: number[] = [];
    for (let i = alignment; i + 1 <= bytes.length; i += 2) {
      const low = bytes[i]!;
      if (i + 1 < bytes.length && bytes[i + 1] === 0 && isPrintable(low)) {
        chars.push(low);
        continue;
      }
      if (chars.length >= minLength) stretches.push(String.fromCharCode(...chars));
      chars = [];
    }
    if (chars.length >= minLength) stretches.push(String.fromCharCode(...chars));
  }
  return stretches;
}

function isPrintable(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

/** A concatenation of string literals in a text: where it stands and the string it builds. */
export interface JoinedPieces {
  readonly start: number;
  readonly end: number;
  readonly joined: string;
}

/** Finds string literals joined by `+` and the strings they build. */
export function findJoinedPieces(text: string): JoinedPieces[] {
  // A scan rather than a regular expression: linear, and no stack to run out of on a long line.
  const found: JoinedPieces[] = [];
  let cursor = 0;
  while (cursor < text.length) {
    const start = findNextQuote(text, cursor);
    if (start === -1) break;
    const first = readLiteral(text, start);
    if (first === null) {
      cursor = start + 1;
      continue;
    }
    const pieces = [first.content];
    let end = first.end;
    for (;;) {
      const plus = skipSpaces(text, end);
      if (text[plus] !== "+") break;
      const next = readLiteral(text, skipSpaces(text, plus + 1));
      if (next === null) break;
      pieces.push(next.content);
      end = next.end;
    }
    if (pieces.length > 1) {
      found.push({ start, end, joined: pieces.join("") });
      cursor = end;
    } else {
      // Not a concatenation: its closing quote may open one (`{"line":"x = \"a\" + \"b\""}`).
      cursor = start + 1;
    }
  }
  return found;
}

// A quote, or a JSON-escaped one (`\"`), at or after `from`.
function findNextQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i += 1) {
    const char = text[i];
    if (char === '"' || char === "'" || (char === "\\" && (text[i + 1] === '"' || text[i + 1] === "'"))) return i;
  }
  return -1;
}

// The literal opening at `start`, closed by the same quote on the same line.
function readLiteral(text: string, start: number): { content: string; end: number } | null {
  const quote = text[start] === "\\" ? text.slice(start, start + 2) : (text[start] ?? "");
  if (quote !== '"' && quote !== "'" && quote !== '\\"' && quote !== "\\'") return null;
  const open = start + quote.length;
  const close = text.indexOf(quote, open);
  if (close === -1) return null;
  const content = text.slice(open, close);
  if (content.includes("\n")) return null;
  return { content, end: close + quote.length };
}

function skipSpaces(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i]!)) i += 1;
  return i;
}
