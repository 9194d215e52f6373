/**
 * The one redactor: every text Foreman logs, stores as evidence, or shows from an agent or from CI
 * goes through it. Pure.
 *
 * Three sources: GitHub tokens recognised by prefix only — no assumption about the length or
 * alphabet after the prefix, because GitHub has changed both before; PEM private keys; and the
 * literal values of every secret Foreman knows (its own, and those forwarded to agents).
 */

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
  return (text) => {
    const withoutLiterals = literalPattern === null ? text : text.replace(literalPattern, REDACTED);
    return redactGithubTokens(withoutLiterals);
  };
}

/** Redacts GitHub tokens, private keys and the given secret values in one piece of text. */
export function redactText(text: string, secretValues: readonly string[] = []): string {
  return buildRedactor(secretValues)(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
