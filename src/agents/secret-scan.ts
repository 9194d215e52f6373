/**
 * Recognises credentials in one line of added text. Pure. Deliberately narrow: each pattern
 * has a distinctive shape, so a violation is worth a human's attention.
 */

interface SecretPattern {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly check?: (match: RegExpExecArray) => boolean;
}

const PATTERNS: readonly SecretPattern[] = [
  { kind: "a GitHub token", pattern: /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}/ },
  { kind: "a GitHub fine-grained token", pattern: /\bgithub_pat_[A-Za-z0-9_]{20,}/ },
  // AWS's documentation keys end in EXAMPLE (AKIAIOSFODNN7EXAMPLE); they are not credentials.
  {
    kind: "an AWS access key id",
    pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/,
    check: (match) => !match[0].endsWith("EXAMPLE"),
  },
  { kind: "a private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { kind: "a Slack token", pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/ },
  {
    // key = "value" where the key names a credential and the value looks random, not a placeholder.
    kind: "a hard-coded credential",
    pattern:
      /\b[\w.-]*(?:api[_-]?key|secret|token|passw(?:or)?d|access[_-]?key)[\w.-]*["']?\s*[:=]\s*["']([^"'\s]{16,})["']/i,
    check: (match) => shannonEntropy(match[1] ?? "") >= 3.5,
  },
];

/** Names the kinds of credential found in a line (empty when none). */
export function findSecretsInLine(line: string): string[] {
  const kinds: string[] = [];
  for (const { kind, pattern, check } of PATTERNS) {
    const match = pattern.exec(line);
    if (match !== null && (check === undefined || check(match))) kinds.push(kind);
  }
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
