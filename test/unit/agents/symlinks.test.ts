import { describe, expect, it } from "vitest";
import {
  describeEscape,
  findEscapingSymlinks,
  MAX_SYMLINK_HOPS,
  resolveSymlink,
} from "../../../src/agents/symlinks.js";

const tree = (links: Record<string, string>): Map<string, string> => new Map(Object.entries(links));

describe("resolveSymlink", () => {
  it("follows links inside the tree: `a/s2 -> s1/..` with `a/s1 -> ..` is the repository's parent", () => {
    const links = tree({ "a/s1": "..", "a/s2": "s1/.." });
    expect(resolveSymlink("a/s1", "..", links)).toEqual({ inside: true, path: "" });
    expect(resolveSymlink("a/s2", "s1/..", links)).toEqual({ inside: false, reason: "outside" });
    // Read as text, without the other link, the same target stays inside.
    expect(resolveSymlink("a/s2", "s1/..", tree({}))).toEqual({ inside: true, path: "a" });
  });

  it("resolves a link's target from the directory the link is in", () => {
    const links = tree({ lib: "src/deep", "docs/x": "../lib/a.ts", y: "lib/../../z" });
    expect(resolveSymlink("docs/x", "../lib/a.ts", links)).toEqual({ inside: true, path: "src/deep/a.ts" });
    // Lexically `lib/../../z` is outside; physically `lib` is src/deep, whose parent's parent is the root.
    expect(resolveSymlink("y", "lib/../../z", links)).toEqual({ inside: true, path: "z" });
  });

  it("refuses absolute targets, directly or through another link", () => {
    const links = tree({ etc: "/etc", "docs/p": "../etc/passwd" });
    expect(resolveSymlink("etc", "/etc", links)).toEqual({ inside: false, reason: "outside" });
    expect(resolveSymlink("docs/p", "../etc/passwd", links)).toEqual({ inside: false, reason: "outside" });
  });

  it("gives up on loops and on chains longer than the bound", () => {
    expect(resolveSymlink("a", "b/x", tree({ a: "b/x", b: "a" }))).toEqual({
      inside: false,
      reason: "too_many_links",
    });
    const chain = Object.fromEntries(
      Array.from({ length: MAX_SYMLINK_HOPS + 1 }, (_, i) => [`l${i}`, `l${i + 1}`] as const),
    );
    expect(resolveSymlink("l0", "l1", tree(chain))).toEqual({ inside: false, reason: "too_many_links" });
    const shorter = Object.fromEntries(
      Array.from({ length: MAX_SYMLINK_HOPS - 1 }, (_, i) => [`l${i}`, `l${i + 1}`] as const),
    );
    expect(resolveSymlink("l0", "l1", tree(shorter))).toEqual({ inside: true, path: `l${MAX_SYMLINK_HOPS - 1}` });
  });
});

describe("findEscapingSymlinks", () => {
  it("lists the links that lead out, by path, with the words for each", () => {
    const escaping = findEscapingSymlinks(tree({ "a/s2": "s1/..", "a/s1": "..", ok: "a", loop: "loop" }));
    expect(escaping).toEqual([
      { path: "a/s2", target: "s1/..", reason: "outside" },
      { path: "loop", target: "loop", reason: "too_many_links" },
    ]);
    expect(escaping.map(describeEscape)).toEqual([
      'symlink to "s1/.." points outside the repository',
      `symlink to "loop" goes through more than ${MAX_SYMLINK_HOPS} links`,
    ]);
  });
});
