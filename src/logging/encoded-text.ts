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
// URL-safe); Node's decoder reads either.
const BASE64_RUN = /[A-Za-z0-9+/_-]{24,}={0,2}/g;
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

// A string literal in double or single quotes, or in JSON-escaped quotes (`\"…\"`), on one line;
// `group` is the number of its quote's capture group, its text is the next group.
function buildPiece(group: number): string {
  return `(\\\\?["'])((?:(?!\\${group})[^\\n])*)\\${group}`;
}
/** Two or more string literals joined by `+`: `"ghp_abc" + "def"`. */
const CONCATENATION = new RegExp(`${buildPiece(1)}(?:\\s*\\+\\s*${buildPiece(3)})+`, "g");
const ONE_PIECE = new RegExp(buildPiece(1), "g");

/** A concatenation of string literals in a text: where it stands and the string it builds. */
export interface JoinedPieces {
  readonly start: number;
  readonly end: number;
  readonly joined: string;
}

/** Finds string literals joined by `+` and the strings they build. */
export function findJoinedPieces(text: string): JoinedPieces[] {
  const found: JoinedPieces[] = [];
  for (const match of text.matchAll(CONCATENATION)) {
    const joined = [...match[0].matchAll(ONE_PIECE)].map((piece) => piece[2] ?? "").join("");
    found.push({ start: match.index, end: match.index + match[0].length, joined });
  }
  return found;
}
