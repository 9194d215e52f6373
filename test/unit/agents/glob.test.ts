import { describe, expect, it } from "vitest";
import { compilePathGlob, matchesAnyPathGlob, matchesImageGlob, parseGlobList } from "../../../src/agents/glob.js";

describe("path globs", () => {
  it.each([
    [".github/workflows/**", ".github/workflows/ci.yml", true],
    [".github/workflows/**", ".github/workflows/nested/deploy.yml", true],
    [".github/workflows/**", ".github/dependabot.yml", false],
    [".github/workflows/**", "docs/.github/workflows/ci.yml", false],
    ["src/*.ts", "src/index.ts", true],
    ["src/*.ts", "src/deep/index.ts", false],
    ["src/**/*.ts", "src/index.ts", true],
    ["src/**/*.ts", "src/a/b/index.ts", true],
    ["*.pem", "certs/server.pem", true],
    ["*.pem", "server.pem", true],
    ["docs/", "docs/guide/intro.md", true],
    ["./docs/**", "docs/intro.md", true],
    ["file?.txt", "file1.txt", true],
    ["file?.txt", "file/.txt", false],
    ["a+b(c).md", "a+b(c).md", true],
  ])("%s against %s is %s", (pattern, path, expected) => {
    expect(compilePathGlob(pattern).test(path)).toBe(expected);
  });

  it("matches when any pattern matches", () => {
    expect(matchesAnyPathGlob("src/a.ts", ["docs/**", "src/**"])).toBe(true);
    expect(matchesAnyPathGlob("lib/a.ts", ["docs/**", "src/**"])).toBe(false);
  });
});

describe("image globs", () => {
  it.each([
    ["ghcr.io/acme/*", "ghcr.io/acme/agent:1.2", true],
    ["ghcr.io/acme/*", "ghcr.io/acme/team/agent@sha256:abc", true],
    ["ghcr.io/acme/*", "ghcr.io/other/agent:1", false],
    ["node:*", "node:22-slim", true],
    ["node:*", "nodejs:22", false],
    ["busybox:1.36.1", "busybox:1.36.1", true],
    ["busybox:1.36.1", "busybox:1.36.10", false],
    ["registry.local/a?b", "registry.local/axb", false],
  ])("%s against %s is %s", (pattern, image, expected) => {
    expect(matchesImageGlob(image, pattern)).toBe(expected);
  });

  it("parses a comma-separated list, dropping blanks", () => {
    expect(parseGlobList(" ghcr.io/acme/* , ,node:*,")).toEqual(["ghcr.io/acme/*", "node:*"]);
    expect(parseGlobList(undefined)).toEqual([]);
  });
});
