import { describe, expect, it } from "vitest";
import type { FileChange } from "../../../src/agents/changes.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES, type GuardrailRules } from "../../../src/agents/guardrails.js";
import { findSecretsInLine, shannonEntropy } from "../../../src/agents/secret-scan.js";

function change(path: string, overrides: Partial<FileChange> = {}): FileChange {
  const text = overrides.content?.toString("utf8") ?? "hello\n";
  return {
    path,
    status: "modified",
    mode: "100644",
    content: Buffer.from(text),
    binary: false,
    addedLines: 1,
    deletedLines: 1,
    addedText: [{ lineNumber: 1, text: "hello" }],
    ...overrides,
  };
}

const rules = (patch: Partial<GuardrailRules> = {}): GuardrailRules => ({ ...DEFAULT_GUARDRAIL_RULES, ...patch });

describe("checkChanges", () => {
  it("accepts an ordinary change", () => {
    expect(checkChanges([change("src/a.ts"), change("README.md")], rules(), { baseFileCount: 10 })).toEqual({
      ok: true,
    });
  });

  it("limits the number of files", () => {
    expect(checkChanges([change("a"), change("b"), change("c")], rules({ maxFiles: 2 }))).toEqual({
      ok: false,
      violations: [
        {
          rule: "max_files",
          message:
            "The change touches 3 files; the limit is 2. Split the issue into smaller ones (a repository can lower this limit in `guardrails`, never raise it).",
        },
      ],
    });
  });

  it("limits the changed lines (added + deleted)", () => {
    const verdict = checkChanges(
      [change("a", { addedLines: 30, deletedLines: 11 }), change("b", { addedLines: 10, deletedLines: 0 })],
      rules({ maxChangedLines: 50 }),
    );
    expect(verdict).toEqual({
      ok: false,
      violations: [
        {
          rule: "max_changed_lines",
          message:
            "The change adds or removes 51 lines; the limit is 50. Split the issue into smaller ones (a repository can lower this limit in `guardrails`, never raise it).",
        },
      ],
    });
    expect(checkChanges([change("a", { addedLines: 40, deletedLines: 10 })], rules({ maxChangedLines: 50 }))).toEqual({
      ok: true,
    });
  });

  it("stops a mass deletion by count and by share of the repository", () => {
    const deletions = (count: number): FileChange[] =>
      Array.from({ length: count }, (_, index) =>
        change(`f${index}`, { status: "deleted", content: undefined, addedText: [], addedLines: 0 }),
      );
    expect(checkChanges(deletions(4), rules({ maxDeletedFiles: 3 }), { baseFileCount: 1000 })).toEqual({
      ok: false,
      violations: [
        {
          rule: "mass_deletion",
          message:
            "The change deletes 4 of the repository's 1000 files, which looks like a mass deletion. Nothing was pushed; if this is intended, make the deletion by hand.",
        },
      ],
    });
    expect(checkChanges(deletions(3), rules(), { baseFileCount: 5 })).toMatchObject({
      ok: false,
      violations: [{ rule: "mass_deletion" }],
    });
    // Two of three files is below the minimum for the ratio rule: an ordinary refactor.
    expect(checkChanges(deletions(2), rules(), { baseFileCount: 3 })).toEqual({ ok: true });
    expect(checkChanges(deletions(3), rules(), { baseFileCount: 100 })).toEqual({ ok: true });
  });

  it("protects .github/workflows by default", () => {
    expect(checkChanges([change(".github/workflows/ci.yml", { status: "deleted" })], rules())).toEqual({
      ok: false,
      violations: [
        {
          rule: "protected_path",
          path: ".github/workflows/ci.yml",
          message:
            "`.github/workflows/ci.yml` is a protected path (.github/workflows/**); agents may not delete it. A human must make this change.",
        },
      ],
    });
  });

  it("keeps changes inside the allowed paths when they are set", () => {
    const verdict = checkChanges(
      [change("src/a.ts"), change("package.json")],
      rules({ allowedPaths: ["src/**", "test/**"] }),
    );
    expect(verdict).toEqual({
      ok: false,
      violations: [
        {
          rule: "outside_allowed_paths",
          path: "package.json",
          message: "`package.json` is outside the paths agents may change in this repository (src/**, test/**).",
        },
      ],
    });
  });

  it("finds secrets in added lines only, and names the forwarded secret it found", () => {
    const leaked = change("config.ts", {
      addedText: [
        { lineNumber: 3, text: 'const key = "AKIAZ7Q3EXAMPLE5HJKL";' },
        { lineNumber: 9, text: "anthropic: sk-ant-real-secret-value" },
      ],
    });
    expect(
      checkChanges([leaked], rules({ forwardedSecrets: { ANTHROPIC_API_KEY: "sk-ant-real-secret-value" } })),
    ).toEqual({
      ok: false,
      violations: [
        {
          rule: "secret",
          path: "config.ts",
          message:
            "Line 3 of `config.ts` adds what looks like an AWS access key id. Nothing was pushed. Remove it, and rotate the credential if it is real.",
        },
        {
          rule: "secret",
          path: "config.ts",
          message:
            "Line 9 of `config.ts` adds what looks like the value of ANTHROPIC_API_KEY. Nothing was pushed. Remove it, and rotate the credential if it is real.",
        },
      ],
    });
    expect(checkChanges([leaked], rules({ secretScan: false }))).toEqual({ ok: true });
  });

  it("refuses symlinks that point outside the repository", () => {
    const link = (target: string): FileChange =>
      change("docs/link", { mode: "120000", content: Buffer.from(target), status: "added", addedText: [] });
    expect(checkChanges([link("../../etc/passwd")], rules())).toEqual({
      ok: false,
      violations: [
        {
          rule: "symlink_escape",
          path: "docs/link",
          message: "`docs/link` is a symlink pointing outside the repository; agents may not add those.",
        },
      ],
    });
    expect(checkChanges([link("/etc/passwd")], rules())).toMatchObject({ ok: false });
    expect(checkChanges([link("../README.md")], rules())).toEqual({ ok: true });
  });

  it("resolves links through each other, not as text: `a/s2 -> s1/..` with `a/s1 -> ..` leads out", () => {
    const link = (path: string, target: string, status: FileChange["status"] = "added"): FileChange =>
      change(path, { mode: "120000", content: Buffer.from(target), status, addedText: [] });
    expect(checkChanges([link("a/s1", ".."), link("a/s2", "s1/..")], rules())).toEqual({
      ok: false,
      violations: [
        {
          rule: "symlink_escape",
          path: "a/s2",
          message: "`a/s2` is a symlink pointing outside the repository; agents may not add those.",
        },
      ],
    });
    // The base's link `a/s2 -> s1/..` was inside while `a/s1` was a directory; the change makes it a link to `..`.
    const symlinks = new Map([
      ["a/s1", ".."],
      ["a/s2", "s1/.."],
    ]);
    expect(checkChanges([link("a/s1", "..")], rules(), { symlinks })).toEqual({
      ok: false,
      violations: [
        {
          rule: "symlink_escape",
          path: "a/s2",
          message:
            "`a/s2` is a symlink that the change makes point outside the repository (through the links it changed); agents may not do that.",
        },
      ],
    });
    expect(checkChanges([link("loop", "loop")], rules())).toMatchObject({
      ok: false,
      violations: [{ rule: "symlink_escape", path: "loop" }],
    });
    // Physically inside although `lib/../../z` reads as outside: `lib` is two directories deep.
    expect(
      checkChanges([link("y", "lib/../../z")], rules(), {
        symlinks: new Map([
          ["lib", "src/deep"],
          ["y", "lib/../../z"],
        ]),
      }),
    ).toEqual({ ok: true });
  });

  it("reports entries that cannot be pushed", () => {
    expect(
      checkChanges([], rules(), {
        unsupported: [{ path: "vendor/lib", reason: "a nested git repository (submodule); Foreman only pushes files" }],
      }),
    ).toEqual({
      ok: false,
      violations: [
        {
          rule: "unsupported_entry",
          path: "vendor/lib",
          message: "`vendor/lib` cannot be pushed: a nested git repository (submodule); Foreman only pushes files.",
        },
      ],
    });
  });
});

describe("findSecretsInLine", () => {
  it.each([
    ["token = ghp_0123456789abcdefghijABCDEFGHIJ", ["a GitHub token"]],
    ["github_pat_11AAAAAAA0abcdefghijklmn_opqrstuv", ["a GitHub fine-grained token"]],
    ["aws_access_key_id=AKIAZ7Q3R5T6Y7U8I9O0", ["an AWS access key id"]],
    ["-----BEGIN OPENSSH PRIVATE KEY-----", ["a private key"]],
    ["-----BEGIN PGP PRIVATE KEY BLOCK-----", ["a private key"]],
    ["slack: xoxb-123456789012-abcdefghij", ["a Slack token"]],
    ['api_key = "q8Zr2LwX9vN4kT7pB1mC"', ["a hard-coded credential"]],
    ['"clientSecret": "f3G9kQ2mX8vL1pR7tZ4w"', ["a hard-coded credential"]],
  ])("finds %s", (line, kinds) => {
    expect(findSecretsInLine(line)).toEqual(kinds);
  });

  it.each([
    "const prefix = 'ghp_';",
    "AKIAIOSFODNN7EXAMPLE is AWS's documentation key",
    'api_key = "your-api-key-here-please"',
    'password = "aaaaaaaaaaaaaaaaaaaa"',
    "-----BEGIN PUBLIC KEY-----",
    "token = process.env.API_TOKEN",
  ])("ignores %s", (line) => {
    expect(findSecretsInLine(line)).toEqual([]);
  });

  it("measures entropy in bits per character", () => {
    expect(shannonEntropy("")).toBe(0);
    expect(shannonEntropy("aaaa")).toBe(0);
    expect(shannonEntropy("abcd")).toBe(2);
  });
});

describe("the default protected paths: the rules an agent is judged by", () => {
  it.each([
    [".github/foreman.yml", ".github/foreman.yml"],
    [".github/foreman/prompts/roles/reviewer.md.hbs", ".github/foreman/**"],
    [".github/actions/setup/action.yml", ".github/actions/**"],
    ["CODEOWNERS", "CODEOWNERS"],
    [".github/CODEOWNERS", "CODEOWNERS"],
    // A pattern without a slash matches at any depth, as in .gitignore.
    ["docs/CODEOWNERS", "CODEOWNERS"],
  ])("an agent that changes %s fails, naming the rule %s", (path, pattern) => {
    const verdict = checkChanges([change(path)], DEFAULT_GUARDRAIL_RULES);
    expect(verdict).toMatchObject({ ok: false, violations: [{ rule: "protected_path", path }] });
    if (!verdict.ok) expect(verdict.violations[0]!.message).toContain(`is a protected path (${pattern})`);
  });
});

describe("the byte limit", () => {
  it("refuses a diff whose blob sizes exceed maxDiffBytes, naming the sizes, even with no content read", () => {
    const skipped = (path: string): FileChange => ({
      path,
      status: "added",
      mode: "100644",
      binary: false,
      addedLines: 0,
      deletedLines: 0,
      addedText: [],
    });
    const verdict = checkChanges([skipped("a.txt"), skipped("b.txt")], DEFAULT_GUARDRAIL_RULES, {
      diffBytes: 20 * 1024 * 1024,
      largestFiles: [
        { path: "a.txt", bytes: 10 * 1024 * 1024 },
        { path: "b.txt", bytes: 10 * 1024 * 1024 },
      ],
      contentSkippedOver: DEFAULT_GUARDRAIL_RULES.maxDiffBytes,
    });
    expect(verdict).toEqual({
      ok: false,
      violations: [
        {
          rule: "max_diff_bytes",
          message:
            "The change writes 20.0 MiB (20971520 bytes) of file content in 2 files (the largest: `a.txt` 10.0 MiB (10485760 bytes), `b.txt` 10.0 MiB (10485760 bytes)); the limit is 5.0 MiB (5242880 bytes). Nothing was read or pushed. Leave large generated or binary files out of the change, or split the issue into smaller ones (a repository can lower this limit in `guardrails`, never raise it).",
        },
      ],
    });
  });

  it("counts the bytes of the content when no sizes are given, and lets a diff at the limit pass", () => {
    const big = change("big.txt", { content: Buffer.alloc(1024, "x") });
    expect(checkChanges([big], rules({ maxDiffBytes: 1024 }))).toEqual({ ok: true });
    expect(checkChanges([big], rules({ maxDiffBytes: 1023 }))).toMatchObject({
      ok: false,
      violations: [{ rule: "max_diff_bytes" }],
    });
  });
});
