/**
 * GitHub token prefixes. Whatever follows a prefix up to a delimiter is treated as the token:
 * no assumption about its length or alphabet, so new token formats are still caught.
 */
// A token already redacted upstream (`ghs_[REDACTED]`) is left as it is.
const TOKEN_PATTERN =
  /\b(?:ghp|gho|ghu|ghs|ghr)_(?!\[REDACTED\])[^\s"'`<>,;)\]}]*|\bgithub_pat_(?!\[REDACTED\])[^\s"'`<>,;)\]}]*/g;
const PRIVATE_KEY_PATTERN = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g;

/** Replace GitHub tokens, private keys and the given literal secrets in a text with `[REDACTED]`. */
export function redactSecrets(text: string, literals: readonly string[] = []): string {
  let out = text.replace(PRIVATE_KEY_PATTERN, "[REDACTED]").replace(TOKEN_PATTERN, "[REDACTED]");
  // Longest first, so a secret that contains another is replaced whole.
  for (const literal of [...literals].filter((value) => value.length >= 4).sort((a, b) => b.length - a.length)) {
    out = out.split(literal).join("[REDACTED]");
  }
  return out;
}
