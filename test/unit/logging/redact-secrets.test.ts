import fc from "fast-check";
import { Writable } from "node:stream";
import { describe, expect, test } from "vitest";
import { createLogger } from "../../../src/logging/create-logger.js";
import { redactSecrets } from "../../../src/logging/redact-secrets.js";

describe("redactSecrets", () => {
  test.each(["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"])(
    "%s tokens of any length and alphabet are removed",
    (prefix) => {
      fc.assert(
        fc.property(
          fc.string({ unit: fc.constantFrom(..."abcXYZ019_-.+/=~!"), minLength: 0, maxLength: 80 }),
          (tail) => {
            const out = redactSecrets(`token=${prefix}${tail} next`);
            expect(out).toBe("token=[REDACTED] next");
          },
        ),
      );
    },
  );

  test("a token redacted upstream is left as it is, not mangled", () => {
    expect(redactSecrets("with ghs_[REDACTED] and github_pat_[REDACTED]")).toBe(
      "with ghs_[REDACTED] and github_pat_[REDACTED]",
    );
  });

  test("private keys and literal secrets are removed, longer literals first", () => {
    expect(redactSecrets("k=-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY----- end")).toBe(
      "k=[REDACTED] end",
    );
    expect(redactSecrets("pw hunter22 and hunter2", ["hunter2", "hunter22"])).toBe("pw [REDACTED] and [REDACTED]");
  });

  test("the logger redacts at the stream, whatever the field", () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const log = createLogger({ level: "info", secrets: ["s3cr3t-value"], destination });
    log.info({ err: new Error("failed with ghs_leaky"), nested: { value: "s3cr3t-value" } }, "auth ghp_abc");
    expect(lines.join("")).not.toMatch(/ghs_leaky|ghp_abc|s3cr3t-value/);
    expect(lines.join("")).toContain("[REDACTED]");
  });
});
