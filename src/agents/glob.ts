/**
 * Small, dependency-free glob matching for repository paths and image references.
 * Pure. Two dialects, because the two inputs have different shapes.
 */

const REGEX_SPECIALS = /[.+^${}()|[\]\\]/g;

/**
 * Compiles a path glob (gitignore-like): `**` crosses directories, `*` and `?` do not cross
 * `/`; `dir/**` matches everything under `dir`; a pattern without `/` matches a file name at
 * any depth (`*.pem`).
 */
export function compilePathGlob(pattern: string): RegExp {
  // A leading "./" or "/" anchors nothing extra; a trailing "/" means "everything under".
  const stripped = pattern.trim().replace(/^\.?\//, "");
  const trimmed = stripped.endsWith("/") ? `${stripped}**` : stripped;
  const anyDepth = !trimmed.includes("/");
  let source = "";
  for (let i = 0; i < trimmed.length; i += 1) {
    const char = trimmed.charAt(i);
    if (char === "*" && trimmed.charAt(i + 1) === "*") {
      const followedBySlash = trimmed.charAt(i + 2) === "/";
      // "**/" may match zero directories ("a/**/b" matches "a/b").
      source += followedBySlash ? "(?:.*/)?" : ".*";
      i += followedBySlash ? 2 : 1;
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(REGEX_SPECIALS, "\\$&");
    }
  }
  return new RegExp(anyDepth ? `^(?:.*/)?${source}$` : `^${source}$`);
}

/** True when `path` (repository-relative, `/`-separated) matches any of the path globs. */
export function matchesAnyPathGlob(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => compilePathGlob(pattern).test(path));
}

/**
 * True when an image reference matches an allowlist glob. Here `*` matches any characters,
 * `/`, `:` and `@` included, so `ghcr.io/acme/*` allows every image and tag under that owner.
 */
export function matchesImageGlob(image: string, pattern: string): boolean {
  const source = pattern
    .trim()
    .split("*")
    .map((part) => part.replace(REGEX_SPECIALS, "\\$&").replace(/\?/g, "\\?"))
    .join(".*");
  return new RegExp(`^${source}$`).test(image);
}

/** Splits a comma-separated glob list (as in `AGENT_IMAGE_ALLOWLIST`) into trimmed, non-empty globs. */
export function parseGlobList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}
