import { describe, expect, it } from "vitest";
import { buildExecutionLog, formatLogTail } from "../../../src/agents/execution-log.js";
import { buildRedactor } from "../../../src/logging/redact.js";
import type { LogLine } from "../../../src/agents/runner.js";

const now = new Date("2025-05-06T07:08:09.000Z");
const redact = buildRedactor(["sk-live-0123456789"]);

describe("buildExecutionLog", () => {
  it("writes one redacted JSON object per line", () => {
    const lines: LogLine[] = [
      { t: "2025-05-06T07:08:01.5Z", stream: "stdout", line: "using key sk-live-0123456789" },
      { t: null, stream: "stderr", line: "push with ghs_abcdef failed" },
    ];
    const log = buildExecutionLog(lines, { redact, now });
    expect(log.jsonl).toBe(
      '{"t":"2025-05-06T07:08:01.5Z","stream":"stdout","line":"using key [REDACTED]"}\n' +
        '{"t":"2025-05-06T07:08:09.000Z","stream":"stderr","line":"push with ghs_[REDACTED] failed"}\n',
    );
    expect(log.truncated).toBe(false);
    expect(formatLogTail(log)).toBe("using key [REDACTED]\n[stderr] push with ghs_[REDACTED] failed");
  });

  it("caps the whole log in bytes, keeping head and tail around a marker", () => {
    const lines: LogLine[] = Array.from({ length: 100 }, (_, index) => ({
      t: "T",
      stream: "stdout",
      line: `line ${String(index).padStart(2, "0")}`,
    }));
    // Each entry is {"t":"T","stream":"stdout","line":"line NN"} + newline = 45 bytes.
    const log = buildExecutionLog(lines, { redact, now, maxBytes: 1000 });
    expect(Buffer.byteLength(log.jsonl)).toBeLessThanOrEqual(1000);
    expect(log.truncated).toBe(true);
    // Tail budget 250 bytes (5 entries); head budget 1000 - 250 - 256 = 494 bytes (10 entries).
    expect(log.entries.map((entry) => entry.line)).toEqual([
      ...Array.from({ length: 10 }, (_, index) => `line 0${index}`),
      "[foreman] execution log truncated: 85 lines omitted (limit 1000 bytes)",
      "line 95",
      "line 96",
      "line 97",
      "line 98",
      "line 99",
    ]);
    expect(
      log.jsonl
        .split("\n")
        .filter(Boolean)
        .map((json) => JSON.parse(json)),
    ).toEqual(log.entries);
  });

  it("cuts an overlong line after redacting it", () => {
    const log = buildExecutionLog([{ t: null, stream: "stdout", line: `${"x".repeat(10)}ghp_secretsecret` }], {
      redact,
      now,
      maxLineChars: 12,
    });
    expect(log.entries[0]?.line).toBe("xxxxxxxxxxgh …[line truncated]");
  });
});
