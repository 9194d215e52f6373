import { describe, expect, test } from "vitest";
import { toJsonText } from "../../../src/db/client.js";
import { sanitizeDeep, sanitizeNullableText, sanitizeText } from "../../../src/db/sanitize-text.js";

// PostgreSQL refuses U+0000 in text and jsonb and lone surrogates in jsonb: they become U+FFFD.

describe("sanitizeText", () => {
  test("U+0000 and lone surrogates become U+FFFD; everything else, surrogate pairs included, is kept", () => {
    expect(sanitizeText("a\u0000b\u0000\u0000c")).toBe("a\uFFFDb\uFFFD\uFFFDc");
    expect(sanitizeText("high \ud800 alone")).toBe("high \uFFFD alone");
    expect(sanitizeText("low \udc00 alone")).toBe("low \uFFFD alone");
    expect(sanitizeText("reversed \udc00\ud800")).toBe("reversed \uFFFD\uFFFD");
    expect(sanitizeText("at the end \ud83d")).toBe("at the end \uFFFD");
    expect(sanitizeText("a pair 😀 and \u0001 tab\t é")).toBe("a pair 😀 and \u0001 tab\t é");
    expect(sanitizeNullableText(null)).toBeNull();
    expect(sanitizeNullableText("x\u0000")).toBe("x\uFFFD");
  });

  test("sanitizeDeep cleans every string, keys included, and calls toJSON as JSON.stringify does", () => {
    const when = new Date("2026-01-02T03:04:05.000Z");
    const value = {
      "key\u0000": ["a\u0000", 1, null, true, { inner: "\ud800" }],
      when,
      nested: { toJSON: () => ({ shown: "x\u0000" }) },
    };
    expect(sanitizeDeep(value)).toEqual({
      "key\uFFFD": ["a\uFFFD", 1, null, true, { inner: "\uFFFD" }],
      when: "2026-01-02T03:04:05.000Z",
      nested: { shown: "x\uFFFD" },
    });
    // The input is left as it was.
    expect(value["key\u0000"][0]).toBe("a\u0000");
  });

  test("toJsonText gives JSON text with no \\u0000 or lone-surrogate escape, which jsonb accepts", () => {
    const text = toJsonText({ log: "a\u0000b", tail: "\udfff", kept: "\\u0000 typed by a person" })!;
    expect(text).not.toMatch(/(?<!\\)\\u0000|\\ud[89a-f][0-9a-f]{2}/i);
    expect(JSON.parse(text)).toEqual({ log: "a\uFFFDb", tail: "\uFFFD", kept: "\\u0000 typed by a person" });
    expect(toJsonText(null)).toBeNull();
  });
});
