import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildRedactor,
  GITHUB_TOKEN_PREFIXES,
  listSecretLiterals,
  REDACTED,
  redactGithubTokens,
  redactText,
} from "../../../src/logging/redact.js";

// Characters that end a token in the redactor: the property tests build tokens without them.
const DELIMITERS = [
  " ",
  "\t",
  "\n",
  '"',
  "'",
  "`",
  "<",
  ">",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
  ",",
  ";",
  "\\",
  "@",
  "|",
  "&",
];
const tokenChar = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 1 })
  .filter((char) => !DELIMITERS.includes(char) && !/\s/.test(char));
const tokenBody = fc.array(tokenChar, { minLength: 1, maxLength: 60 }).map((chars) => chars.join(""));
const prefix = fc.constantFrom(...GITHUB_TOKEN_PREFIXES);
const delimiter = fc.constantFrom(...DELIMITERS);
const secretValue = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 4,
  maxLength: 40,
});

describe("redactGithubTokens", () => {
  it.each([
    ["token ghp_abcDEF123 end", "token ghp_[REDACTED] end"],
    [
      "https://x-access-token:ghs_16C7e42F292c6912E7710c838347Ae178B4a@github.com/o/r.git",
      "https://x-access-token:ghs_[REDACTED]@github.com/o/r.git",
    ],
    ['{"token":"github_pat_11ABCDEFG_xyz"}', '{"token":"github_pat_[REDACTED]"}'],
    ["GH=gho_x,ghu_y;ghr_z", "GH=gho_[REDACTED],ghu_[REDACTED];ghr_[REDACTED]"],
    // No assumption about the alphabet after the prefix: a future token format is still redacted.
    ["ghp_ünïcødé-and.dots/slash", "ghp_[REDACTED]"],
    ["ghp_ alone is not a token", "ghp_ alone is not a token"],
  ])("redacts %j", (input, expected) => {
    expect(redactGithubTokens(input)).toBe(expected);
  });

  it("never leaves a prefixed token in the output, whatever surrounds it", () => {
    fc.assert(
      fc.property(fc.string(), prefix, tokenBody, delimiter, fc.string(), (before, tokenPrefix, body, end, after) => {
        const token = `${tokenPrefix}${body}`;
        const output = redactGithubTokens(`${before}${token}${end}${after}`);
        expect(output).not.toContain(token);
        expect(output).toContain(`${tokenPrefix}${REDACTED}`);
      }),
    );
  });
});

describe("buildRedactor", () => {
  it("redacts literal secret values, the longer one first", () => {
    const redact = buildRedactor(["sk-ant-secret-1234", "sk-ant-secret-1234-long-version"]);
    expect(redact("a sk-ant-secret-1234-long-version b sk-ant-secret-1234 c")).toBe(`a ${REDACTED} b ${REDACTED} c`);
  });

  it("redacts each line of a multi-line secret, since logs are redacted line by line", () => {
    expect(listSecretLiterals(["line-one-secret\nline-two-secret"])).toEqual([
      "line-one-secret\nline-two-secret",
      "line-one-secret",
      "line-two-secret",
    ]);
  });

  it("ignores values too short to be secrets and escapes regex characters in values", () => {
    const redact = buildRedactor(["abc", "a.b*c+d?"]);
    expect(redact("abc a.b*c+d? axbxcxd")).toBe(`abc ${REDACTED} axbxcxd`);
  });

  it("redacts every occurrence of every secret (property)", () => {
    fc.assert(
      fc.property(
        fc.array(secretValue, { minLength: 1, maxLength: 5 }),
        fc.array(fc.string(), { minLength: 1, maxLength: 6 }),
        (secrets, fillers) => {
          const text = fillers.map((filler, index) => `${filler}${secrets[index % secrets.length] ?? ""}`).join("");
          const output = redactText(text, secrets);
          for (const secret of secrets) expect(output).not.toContain(secret);
        },
      ),
    );
  });

  it("is idempotent (property)", () => {
    fc.assert(
      fc.property(fc.array(secretValue, { maxLength: 4 }), fc.string(), (secrets, text) => {
        const redact = buildRedactor(secrets);
        expect(redact(redact(text))).toBe(redact(text));
      }),
    );
  });

  it("leaves text without secrets or token prefixes unchanged (property)", () => {
    const plain = fc.string().filter((text) => !text.includes("_"));
    fc.assert(
      fc.property(plain, (text) => {
        expect(buildRedactor([])(text)).toBe(text);
      }),
    );
  });
});

describe("what else the one redactor removes", () => {
  it("a token redacted upstream is left as it is, not mangled", () => {
    expect(redactText("with ghs_[REDACTED] and github_pat_[REDACTED]")).toBe(
      "with ghs_[REDACTED] and github_pat_[REDACTED]",
    );
  });

  it("PEM private keys, whole or cut off at the end of the text", () => {
    expect(redactText("k=-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY----- end")).toBe(
      `k=${REDACTED} end`,
    );
    expect(redactText("k=-----BEGIN OPENSSH PRIVATE KEY-----\nabc")).toBe(`k=${REDACTED}`);
  });

  it("tokens of any length and alphabet after the prefix, wherever they stand", () => {
    fc.assert(
      fc.property(
        prefix,
        fc.string({ unit: fc.constantFrom(..."abcXYZ019_-.+/=~!"), maxLength: 80 }),
        (tokenPrefix, tail) => {
          expect(redactText(`token=${tokenPrefix}x${tail} next`)).toBe(`token=${tokenPrefix}${REDACTED} next`);
        },
      ),
    );
  });
});

describe("secrets in disguise: encoded, split, or in a link", () => {
  // Built from halves so this file itself holds no token-shaped string.
  const token = ["ghp_", "0123456789abcdefghij"].join("");
  const base64 = (text: string): string => Buffer.from(text).toString("base64");

  it.each([
    ["a token in base64", `env ${base64(`GH_TOKEN=${token}`)} end`, `env ${REDACTED} end`],
    ["a literal secret in base64 of base64", `x=${base64(base64("key sk-live-0123456789"))};`, `x=${REDACTED};`],
    ["a private key in base64", `k ${base64("-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE")}`, `k ${REDACTED}`],
    [
      "a token split into joined strings",
      `const t = "${token.slice(0, 8)}" + '${token.slice(8)}';`,
      `const t = ${REDACTED};`,
    ],
    [
      "a literal secret split inside a JSON log line",
      `{"line":"const s = \\"sk-live-\\" + \\"0123456789\\";"}`,
      `{"line":"const s = ${REDACTED};"}`,
    ],
    ["a job log link's token", "GET /jobs/0a1b/log?token=9f8e7d6c5b4a 200", `GET /jobs/0a1b/log?token=${REDACTED} 200`],
    [
      "other secret query parameters, not the rest of the link",
      "https://x.test/p?page=2&access_token=abc123&X-Amz-Signature=f00d#top",
      `https://x.test/p?page=2&access_token=${REDACTED}&X-Amz-Signature=${REDACTED}#top`,
    ],
  ])("%s", (_name, input, expected) => {
    const redact = buildRedactor(["sk-live-0123456789"]);
    expect(redact(input)).toBe(expected);
    expect(redact(expected)).toBe(expected);
  });

  it("leaves base64 and concatenations that hide nothing as they are", () => {
    const text = `msg = "Hello, " + "world"; blob ${base64("nothing secret in this text at all")} sha 4f2c9d1e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e`;
    expect(buildRedactor(["sk-live-0123456789"])(text)).toBe(text);
  });
});

describe("long lines", () => {
  it("a 10 MiB line of base64 alphabet or an open quote is redacted, not thrown on", () => {
    const run = "x".repeat(10 * 1024 * 1024);
    expect(buildRedactor([])(run)).toBe(run);
    expect(buildRedactor([])(`"${run}`)).toBe(`"${run}`);
  });
});
