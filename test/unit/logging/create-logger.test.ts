import { Writable } from "node:stream";
import { describe, expect, test } from "vitest";
import { createLogger } from "../../../src/logging/create-logger.js";

// The redactor itself is tested once, in redact.test.ts; here, that the logger's stream uses it.
describe("createLogger", () => {
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
