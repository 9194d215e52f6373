import { describe, expect, it } from "vitest";
import { createLogCollector, createLogLineStream, parseDockerLogs } from "../../../src/agents/docker-logs.js";
import type { LogLine } from "../../../src/agents/runner.js";

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header.writeUInt8(stream, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

const T1 = "2025-01-02T03:04:05.123456789Z";
const T2 = "2025-01-02T03:04:06.000000001Z";

describe("parseDockerLogs", () => {
  it("demultiplexes stdout and stderr and strips timestamps", () => {
    const logs = parseDockerLogs(Buffer.concat([frame(1, `${T1} hello\n`), frame(2, `${T2} oops\r\n`)]), {
      maxBytes: 1024,
      timestamps: true,
    });
    expect(logs).toEqual({
      lines: [
        { t: T1, stream: "stdout", line: "hello" },
        { t: T2, stream: "stderr", line: "oops" },
      ],
      omittedBytes: 0,
    });
  });

  it("joins Docker's partial messages into one line with the first part's timestamp", () => {
    const logs = parseDockerLogs(
      Buffer.concat([frame(1, `${T1} first half, `), frame(2, `${T1} err\n`), frame(1, `${T2} second half\n`)]),
      { maxBytes: 1024, timestamps: true },
    );
    expect(logs.lines).toEqual([
      { t: T1, stream: "stderr", line: "err" },
      { t: T1, stream: "stdout", line: "first half, second half" },
    ]);
  });

  it("keeps a multi-byte character split across chunks intact", () => {
    const bytes = frame(1, "héllo wörld\n");
    const collector = createLogCollector({ maxBytes: 1024, timestamps: false });
    for (const byte of bytes) collector.push(Buffer.from([byte]));
    expect(collector.finish().lines).toEqual([{ t: null, stream: "stdout", line: "héllo wörld" }]);
  });

  it("keeps the head and the tail within the cap and says how much was dropped", () => {
    const frames = Array.from({ length: 100 }, (_, index) => frame(1, `line ${String(index).padStart(3, "0")}\n`));
    const logs = parseDockerLogs(Buffer.concat(frames), { maxBytes: 200, timestamps: false });
    // 9 bytes per line; 200 bytes: tail budget 50 (5 lines), head budget 150 (16 lines).
    expect(logs.lines.map((line) => line.line)).toEqual([
      ...Array.from({ length: 16 }, (_, index) => `line ${String(index).padStart(3, "0")}`),
      "[foreman] 711 bytes of output omitted (log capture limit 200 bytes)",
      "line 095",
      "line 096",
      "line 097",
      "line 098",
      "line 099",
    ]);
    expect(logs.omittedBytes).toBe(711);
  });

  it("notes an incomplete trailing frame instead of inventing a line", () => {
    const logs = parseDockerLogs(Buffer.concat([frame(1, "ok\n"), frame(1, "cut off").subarray(0, 10)]), {
      maxBytes: 1024,
      timestamps: false,
    });
    expect(logs.lines).toEqual([
      { t: null, stream: "stdout", line: "ok" },
      { t: null, stream: "system", line: "[foreman] 10 bytes of an incomplete log frame dropped" },
    ]);
  });

  it("treats a non-multiplexed (TTY) stream as stdout", () => {
    const logs = parseDockerLogs(Buffer.from("plain tty output\nsecond\n"), { maxBytes: 1024, timestamps: false });
    expect(logs.lines).toEqual([
      { t: null, stream: "stdout", line: "plain tty output" },
      { t: null, stream: "stdout", line: "second" },
    ]);
  });
});

describe("createLogLineStream", () => {
  it("hands each line over as soon as its frame is complete, split frames and partial lines included", () => {
    const seen: LogLine[] = [];
    const lines = createLogLineStream({ timestamps: true, onLine: (line) => seen.push(line) });
    const first = Buffer.concat([frame(1, `${T1} hello\n`), frame(1, `${T1} wor`)]);
    lines.push(first.subarray(0, 5));
    expect(seen).toEqual([]);
    lines.push(first.subarray(5));
    expect(seen).toEqual([{ t: T1, stream: "stdout", line: "hello" }]);
    lines.push(Buffer.concat([frame(1, `${T2} ld\n`), frame(2, `${T2} oops`)]));
    expect(seen.slice(1)).toEqual([{ t: T1, stream: "stdout", line: "world" }]);
    lines.finish();
    expect(seen.slice(2)).toEqual([{ t: T2, stream: "stderr", line: "oops" }]);
  });
});
