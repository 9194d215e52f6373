/**
 * The one redactor: every text Foreman logs, stores as evidence, or shows from an agent or from CI
 * goes through it. Pure.
 *
 * Four sources: GitHub tokens recognised by prefix only — no assumption about the length or
 * alphabet after the prefix, because GitHub has changed both before; PEM private keys; secret
 * query parameters of links (`?token=…`, as in a job log link); and the literal values of every
 * secret Foreman knows (its own, and those forwarded to agents). Each is also found base64-encoded
 * (two levels deep) and split into string literals joined by `+`: the whole run or expression goes.
 */
import { decodeBase64Runs, findJoinedPieces } from "./encoded-text.js";

/** What a redacted literal secret becomes. */
export const REDACTED = "[REDACTED]";

/** Prefixes of GitHub tokens (classic PAT, OAuth, user-to-server, installation, refresh, fine-grained PAT). */
export const GITHUB_TOKEN_PREFIXES = Object.freeze(["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"] as const);

// A token runs until whitespace, a quote or a delimiter that cannot be part of one in the
// places tokens show up: shell, JSON, URLs (`x-access-token:ghs_…@github.com`), markdown.
const TOKEN_BODY = "[^\\s\"'`<>()\\[\\]{},;\\\\@|&]+";
// A token already redacted upstream (`ghs_[REDACTED]`) is left as it is.
const GITHUB_TOKEN_PATTERN = new RegExp(`(${GITHUB_TOKEN_PREFIXES.join("|")})(?!\\[REDACTED\\])${TOKEN_BODY}`, "g");
// A PEM private key, whole, or to the end of the text when its end line is cut off.
const PRIVATE_KEY_PATTERN = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g;

// `?token=…`, `&access_token=…`, `?api_key=…`, `&X-Amz-Signature=…`: the value, not the name.
const SECRET_QUERY_PARAM_PATTERN =
  /([?&;][\w.-]*?(?:token|key|secret|passw(?:or)?d|signature|sig|credential|auth)=)(?!\[REDACTED\])[^&\s"'`<>#\\]+/gi;

// Shorter literals would turn ordinary words in logs into noise and protect nothing real.
const MIN_SECRET_LENGTH = 4;

/** A function that redacts one piece of text. */
export type Redactor = (text: string) => string;

/** Replaces every GitHub-token-shaped substring with its prefix followed by `[REDACTED]`, and every PEM private key. */
export function redactGithubTokens(text: string): string {
  return text
    .replace(PRIVATE_KEY_PATTERN, REDACTED)
    .replace(GITHUB_TOKEN_PATTERN, (_match, prefix: string) => `${prefix}${REDACTED}`);
}

/** Replaces the value of every secret-named query parameter (`token=…` → `token=[REDACTED]`). */
export function redactSecretQueryParams(text: string): string {
  return text.replace(SECRET_QUERY_PARAM_PATTERN, (_match, name: string) => `${name}${REDACTED}`);
}

/**
 * Lists the literal strings to redact for a set of secret values: each value, plus each
 * line of a multi-line value (logs are redacted line by line), longest first so that a
 * secret containing another is removed whole.
 */
export function listSecretLiterals(secretValues: readonly string[]): string[] {
  const literals = new Set<string>();
  for (const value of secretValues) {
    if (value.length >= MIN_SECRET_LENGTH) literals.add(value);
    for (const line of value.split(/\r?\n/)) {
      const trimmed = line.trim();
      if (trimmed.length >= MIN_SECRET_LENGTH) literals.add(trimmed);
    }
  }
  return [...literals].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/** Builds a redactor for GitHub tokens, private keys and the given secret values. */
export function buildRedactor(secretValues: readonly string[]): Redactor {
  const literals = listSecretLiterals(secretValues);
  // One alternation, one pass: occurrences are replaced left to right and a replacement is
  // never scanned again, so overlapping secrets cannot leave a fragment that re-forms one.
  const literalPattern = literals.length === 0 ? null : new RegExp(literals.map(escapeRegExp).join("|"), "g");
  const redactPlain: Redactor = (text) => {
    const withoutLiterals = literalPattern === null ? text : text.replace(literalPattern, REDACTED);
    return redactSecretQueryParams(redactGithubTokens(withoutLiterals));
  };
  return (text) => redactPlain(redactHiddenForms(text, redactPlain));
}

// A base64 run or a `+` concatenation whose decoded or joined text holds a secret is replaced whole.
function redactHiddenForms(text: string, redactPlain: Redactor): string {
  const spans = [
    ...findJoinedPieces(text).filter((pieces) => redactPlain(pieces.joined) !== pieces.joined),
    ...decodeBase64Runs(text).filter((run) => redactPlain(run.text) !== run.text),
  ].sort((a, b) => a.start - b.start || b.end - a.end);
  if (spans.length === 0) return text;
  let result = "";
  let cursor = 0;
  for (const span of spans) {
    if (span.end <= cursor) continue;
    result += `${text.slice(cursor, Math.max(cursor, span.start))}${REDACTED}`;
    cursor = span.end;
  }
  return result + text.slice(cursor);
}

/** Redacts GitHub tokens, private keys and the given secret values in one piece of text. */
export function redactText(text: string, secretValues: readonly string[] = []): string {
  return buildRedactor(secretValues)(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
