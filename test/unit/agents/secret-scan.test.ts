import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { FileChange } from "../../../src/agents/changes.js";
import { checkChanges, DEFAULT_GUARDRAIL_RULES, MAX_SCANNED_BINARY_BYTES } from "../../../src/agents/guardrails.js";
import { findSecretsInBinary, findSecretsInLine, joinSplitLines } from "../../../src/agents/secret-scan.js";

// Built from halves so this file itself holds no token-shaped string.
const TOKEN = ["ghp_", "0123456789abcdefghijABCDEFGHIJ"].join("");
const PEM_HEADER = ["-----BEGIN RSA ", "PRIVATE KEY-----"].join("");
const base64 = (text: string): string => Buffer.from(text).toString("base64");

function binaryChange(path: string, content: Buffer): FileChange {
  return {
    path,
    status: "added",
    mode: "100644",
    content,
    binary: true,
    addedLines: 0,
    deletedLines: 0,
    addedText: [],
  };
}

function textChange(path: string, lines: readonly string[]): FileChange {
  const content = Buffer.from(`${lines.join("\n")}\n`);
  return {
    path,
    status: "added",
    mode: "100644",
    content,
    binary: false,
    addedLines: lines.length,
    deletedLines: 0,
    addedText: lines.map((text, index) => ({ lineNumber: index + 1, text })),
  };
}

describe("binary files are scanned", () => {
  it("a raw token among random bytes in key.bin is refused, naming the file", () => {
    const content = Buffer.concat([
      randomBytes(4096),
      Buffer.from([0]),
      Buffer.from(TOKEN),
      Buffer.from([0, 255]),
      randomBytes(4096),
    ]);
    const verdict = checkChanges([binaryChange("key.bin", content)], DEFAULT_GUARDRAIL_RULES);
    expect(verdict).toMatchObject({ ok: false, violations: [{ rule: "secret", path: "key.bin" }] });
    if (!verdict.ok)
      expect(verdict.violations[0]!.message).toContain(
        "The binary file `key.bin` adds what looks like a GitHub token.",
      );
  });

  it("finds text stored as UTF-16LE and a private key in ASCII", () => {
    expect(
      findSecretsInBinary(Buffer.concat([Buffer.from([1, 2, 3]), Buffer.from(TOKEN, "utf16le"), Buffer.from([0, 0])])),
    ).toEqual(["a GitHub token"]);
    // At an odd offset too.
    expect(findSecretsInBinary(Buffer.concat([Buffer.from([7]), Buffer.from(TOKEN, "utf16le")]))).toEqual([
      "a GitHub token",
    ]);
    expect(findSecretsInBinary(Buffer.concat([Buffer.from([0, 0xff]), Buffer.from(`${PEM_HEADER}\nMIIE\n`)]))).toEqual([
      "a private key",
    ]);
  });

  it("finds the literal value of a forwarded secret in a binary", () => {
    const content = Buffer.concat([Buffer.from([0, 1]), Buffer.from("sk-ant-real-secret-value"), Buffer.from([0])]);
    const verdict = checkChanges([binaryChange("blob.dat", content)], {
      ...DEFAULT_GUARDRAIL_RULES,
      forwardedSecrets: { ANTHROPIC_API_KEY: "sk-ant-real-secret-value" },
    });
    expect(verdict).toMatchObject({ ok: false, violations: [{ rule: "secret", path: "blob.dat" }] });
    if (!verdict.ok) expect(verdict.violations[0]!.message).toContain("the value of ANTHROPIC_API_KEY");
  });

  it("passes a binary without readable secrets", () => {
    const png = Buffer.concat([Buffer.from("\x89PNG\r\n\x1a\n", "latin1"), Buffer.alloc(2048, 0x17)]);
    expect(checkChanges([binaryChange("logo.png", png)], DEFAULT_GUARDRAIL_RULES)).toEqual({ ok: true });
  });

  it("refuses a binary too large to scan, saying why", () => {
    const verdict = checkChanges([binaryChange("big.bin", Buffer.alloc(MAX_SCANNED_BINARY_BYTES + 1))], {
      ...DEFAULT_GUARDRAIL_RULES,
      maxDiffBytes: 2 * MAX_SCANNED_BINARY_BYTES,
    });
    expect(verdict).toEqual({
      ok: false,
      violations: [
        {
          rule: "unscannable_binary",
          path: "big.bin",
          message: `\`big.bin\` is a binary file of ${MAX_SCANNED_BINARY_BYTES + 1} bytes, too large for the secret scan (the limit is ${MAX_SCANNED_BINARY_BYTES} bytes), so it was not pushed. A human must add it.`,
        },
      ],
    });
  });
});

describe("encoded and split credentials", () => {
  it.each([
    [`const blob = "${base64(`export GH_TOKEN=${TOKEN}`)}";`, ["a GitHub token (base64-encoded)"]],
    [`echo ${base64(base64(TOKEN))} | base64 -d | base64 -d`, ["a GitHub token (base64-encoded)"]],
    [`key: ${base64(`${PEM_HEADER}\nMIIEpAIBAAKCAQEA`)}`, ["a private key (base64-encoded)"]],
    [`const t = "${TOKEN.slice(0, 10)}" + "${TOKEN.slice(10)}";`, ["a GitHub token (split into joined strings)"]],
    [`api_key = "q8Zr2LwX" + "9vN4kT7pB1mC"`, ["a hard-coded credential (split into joined strings)"]],
  ])("finds %s", (line, kinds) => {
    expect(findSecretsInLine(line)).toEqual(kinds);
  });

  it("three levels of base64 are beyond the two it decodes", () => {
    expect(findSecretsInLine(base64(base64(base64(TOKEN))))).toEqual([]);
  });

  it("finds a forwarded secret's value base64-encoded", () => {
    expect(
      findSecretsInLine(`x=${base64("sk-ant-real-secret-value")}`, [
        { name: "KEY", value: "sk-ant-real-secret-value" },
      ]),
    ).toEqual(["the value of KEY (base64-encoded)"]);
  });

  it("ignores base64 and concatenations that hide nothing", () => {
    expect(findSecretsInLine(`img = "data:image/png;base64,${randomBytes(300).toString("base64")}"`)).toEqual([]);
    expect(findSecretsInLine(`msg = "Hello, " + "world" + name`)).toEqual([]);
  });

  it("joins a concatenation split over lines and wrapped base64, keeping the first line's number", () => {
    const wrapped = base64(`padding padding padding ${TOKEN} padding padding padding`);
    const lines = [
      "const a = 1;",
      `const t = "${TOKEN.slice(0, 12)}" +`,
      `  "${TOKEN.slice(12)}";`,
      wrapped.slice(0, 48),
      wrapped.slice(48),
    ];
    const verdict = checkChanges([textChange("src/t.ts", lines)], DEFAULT_GUARDRAIL_RULES);
    expect(verdict).toMatchObject({ ok: false });
    if (!verdict.ok)
      expect(verdict.violations.map((violation) => violation.message)).toEqual([
        "Line 2 of `src/t.ts` adds what looks like a GitHub token (split into joined strings). Nothing was pushed. Remove it, and rotate the credential if it is real.",
        "Line 4 of `src/t.ts` adds what looks like a GitHub token (base64-encoded). Nothing was pushed. Remove it, and rotate the credential if it is real.",
      ]);
    expect(
      joinSplitLines([
        { lineNumber: 1, text: '"a" +' },
        { lineNumber: 3, text: '"b"' },
      ]),
    ).toHaveLength(2);
  });
});

describe("long lines", () => {
  // A counted repeat (`{20,}`) over a run of a few MiB made V8 throw "Maximum call stack size exceeded".
  it.each([
    ["a 10 MiB base64-alphabet run", "x".repeat(10 * 1024 * 1024)],
    ["a token prefix and 10 MiB", `ghp_${"x".repeat(10 * 1024 * 1024)}`],
    ["a credential key and 10 MiB", `token = "${"x".repeat(10 * 1024 * 1024)}`],
    ["an open quote and 10 MiB", `"${"x".repeat(10 * 1024 * 1024)}`],
  ])("%s is scanned, not thrown on", (_name, line) => {
    expect(findSecretsInLine(line)).toEqual(line.startsWith("ghp_") ? ["a GitHub token"] : []);
  });
});
