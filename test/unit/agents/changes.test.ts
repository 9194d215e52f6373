import { describe, expect, it } from "vitest";
import { listAddedLines } from "../../../src/agents/changes.js";
import { findUnsafeTarEntry } from "../../../src/agents/tarball.js";

describe("listAddedLines", () => {
  it("lists lines that are new, with their line numbers in the new text", () => {
    expect(listAddedLines("a\nb\nc\n", "a\nX\nc\nY\n")).toEqual([
      { lineNumber: 2, text: "X" },
      { lineNumber: 4, text: "Y" },
    ]);
  });

  it("does not count a moved line as new, but counts a duplicated one", () => {
    expect(listAddedLines("a\nb\n", "b\na\n")).toEqual([]);
    expect(listAddedLines("a\n", "a\na\n")).toEqual([{ lineNumber: 2, text: "a" }]);
  });

  it("treats every line of a new file as added", () => {
    expect(listAddedLines("", "x\ny")).toEqual([
      { lineNumber: 1, text: "x" },
      { lineNumber: 2, text: "y" },
    ]);
  });
});

describe("findUnsafeTarEntry", () => {
  const top = "octo-repo-abc123";

  it.each([
    [`${top}/src/a.ts`, "File", undefined, null],
    [`${top}/`, "Directory", undefined, "skip"],
    [`${top}/docs/link`, "SymbolicLink", "../README.md", null],
    [`${top}/docs/link`, "SymbolicLink", "../../outside", 'symlink to "../../outside" points outside the repository'],
    [`${top}/link`, "SymbolicLink", "/etc/passwd", 'symlink to "/etc/passwd" points outside the repository'],
    [`/etc/cron.d/x`, "File", undefined, "absolute path"],
    [`${top}/../../x`, "File", undefined, "path contains '..'"],
    [`other-top/x`, "File", undefined, `outside the archive's top-level directory "${top}"`],
    [`${top}/hard`, "Link", `${top}/src/a.ts`, "unsupported entry type Link"],
    [`${top}/dev`, "CharacterDevice", undefined, "unsupported entry type CharacterDevice"],
  ])("%s (%s → %s) is %s", (path, type, linkpath, expected) => {
    expect(findUnsafeTarEntry(path, type, linkpath, top)).toBe(expected);
  });
});
