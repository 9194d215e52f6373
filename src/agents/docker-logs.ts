/**
 * Demultiplexes Docker's log stream (8-byte frame headers: stream type, 3 zero bytes, payload
 * length) into lines, keeping at most a byte budget: the head of the output, a marker saying
 * how much was dropped, and the tail — where an agent's last words usually are. Pure.
 */
import type { CapturedLogs, LogLine, LogStream } from "./runner.js";

const HEADER_BYTES = 8;
const STREAMS: Readonly<Record<number, LogStream>> = { 0: "stdout", 1: "stdout", 2: "stderr" };
// `docker logs --timestamps` prefix: RFC 3339 with nanoseconds, then one space.
const TIMESTAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z) /;

/** Incremental collector: feed it chunks as they arrive, then `finish()` once. */
export interface LogCollector {
  push(chunk: Buffer): void;
  finish(): CapturedLogs;
}

interface Frame {
  readonly stream: LogStream;
  readonly payload: Buffer;
}

/** Options of a collector: the byte budget and whether payloads start with timestamps. */
export interface LogCollectorOptions {
  readonly maxBytes: number;
  readonly timestamps: boolean;
}

/** Creates a collector for a multiplexed (non-TTY) Docker log stream. */
export function createLogCollector(options: LogCollectorOptions): LogCollector {
  const tailLimit = Math.min(64 * 1024, Math.floor(options.maxBytes / 4));
  const headLimit = options.maxBytes - tailLimit;
  const head: Frame[] = [];
  const tail: Frame[] = [];
  let headBytes = 0;
  let tailBytes = 0;
  let omittedBytes = 0;
  let pending: Buffer = Buffer.alloc(0);
  let raw = false;

  function keep(frame: Frame): void {
    if (tail.length === 0 && headBytes + frame.payload.length <= headLimit) {
      head.push(frame);
      headBytes += frame.payload.length;
      return;
    }
    const excess = frame.payload.length - tailLimit;
    const kept = excess > 0 ? { stream: frame.stream, payload: frame.payload.subarray(excess) } : frame;
    omittedBytes += Math.max(0, excess);
    tail.push(kept);
    tailBytes += kept.payload.length;
    while (tailBytes > tailLimit) {
      const dropped = tail.shift();
      if (dropped === undefined) break;
      tailBytes -= dropped.payload.length;
      omittedBytes += dropped.payload.length;
    }
  }

  function drain(): void {
    while (!raw && pending.length >= HEADER_BYTES) {
      const stream = STREAMS[pending.readUInt8(0)];
      if (stream === undefined) {
        // Not a multiplexed stream (a TTY container): everything from here on is stdout.
        raw = true;
        break;
      }
      const size = pending.readUInt32BE(4);
      if (pending.length < HEADER_BYTES + size) return;
      keep({ stream, payload: pending.subarray(HEADER_BYTES, HEADER_BYTES + size) });
      pending = pending.subarray(HEADER_BYTES + size);
    }
    if (raw && pending.length > 0) {
      keep({ stream: "stdout", payload: pending });
      pending = Buffer.alloc(0);
    }
  }

  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      drain();
    },
    finish() {
      const lines = new LineAssembler(options.timestamps);
      for (const frame of head) lines.add(frame);
      if (omittedBytes > 0) {
        lines.flush();
        lines.note(`[foreman] ${omittedBytes} bytes of output omitted (log capture limit ${options.maxBytes} bytes)`);
      }
      for (const frame of tail) lines.add(frame);
      if (pending.length > 0) lines.note(`[foreman] ${pending.length} bytes of an incomplete log frame dropped`);
      lines.flush();
      return { lines: lines.result, omittedBytes };
    },
  };
}

/** Incremental line splitter of a followed log: each complete line goes to `onLine` as it arrives. */
export interface LogLineStream {
  push(chunk: Buffer): void;
  /** Hands over what is left (a last line without its newline). */
  finish(): void;
}

/**
 * Splits a multiplexed (non-TTY) Docker log stream into lines as it arrives, for live readers. No
 * byte budget: the reader bounds what it keeps. A line split over frames keeps its first timestamp.
 */
export function createLogLineStream(options: { timestamps: boolean; onLine: (line: LogLine) => void }): LogLineStream {
  const lines = new LineAssembler(options.timestamps);
  let pending: Buffer = Buffer.alloc(0);
  let raw = false;
  function hand(): void {
    for (const line of lines.result.splice(0)) options.onLine(line);
  }
  return {
    push(chunk) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (!raw && pending.length >= HEADER_BYTES) {
        const stream = STREAMS[pending.readUInt8(0)];
        if (stream === undefined) {
          raw = true;
          break;
        }
        const size = pending.readUInt32BE(4);
        if (pending.length < HEADER_BYTES + size) break;
        lines.add({ stream, payload: pending.subarray(HEADER_BYTES, HEADER_BYTES + size) });
        pending = pending.subarray(HEADER_BYTES + size);
      }
      if (raw && pending.length > 0) {
        lines.add({ stream: "stdout", payload: pending });
        pending = Buffer.alloc(0);
      }
      hand();
    },
    finish() {
      lines.flush();
      hand();
    },
  };
}

/** Parses a complete multiplexed log buffer into lines (no byte budget beyond `maxBytes`). */
export function parseDockerLogs(buffer: Buffer, options: LogCollectorOptions): CapturedLogs {
  const collector = createLogCollector(options);
  collector.push(buffer);
  return collector.finish();
}

// Joins frame payloads into lines per stream. A frame that does not end in "\n" is a partial
// message (Docker splits lines over 16 KiB); the line keeps the timestamp of its first part.
class LineAssembler {
  readonly result: LogLine[] = [];
  private readonly open = new Map<LogStream, { t: string | null; parts: Buffer[] }>();

  constructor(private readonly timestamps: boolean) {}

  add(frame: Frame): void {
    let payload = frame.payload;
    let t: string | null = null;
    if (this.timestamps) {
      const match = TIMESTAMP.exec(payload.subarray(0, 64).toString("latin1"));
      if (match?.[1] !== undefined) {
        t = match[1];
        payload = payload.subarray(match[0].length);
      }
    }
    let start = 0;
    for (let newline = payload.indexOf(10); newline !== -1; newline = payload.indexOf(10, start)) {
      this.append(frame.stream, t, payload.subarray(start, newline));
      this.end(frame.stream);
      start = newline + 1;
    }
    if (start < payload.length) this.append(frame.stream, t, payload.subarray(start));
  }

  note(line: string): void {
    this.result.push({ t: null, stream: "system", line });
  }

  flush(): void {
    for (const stream of [...this.open.keys()]) this.end(stream);
  }

  private append(stream: LogStream, t: string | null, piece: Buffer): void {
    const current = this.open.get(stream);
    if (current === undefined) this.open.set(stream, { t, parts: [piece] });
    else current.parts.push(piece);
  }

  private end(stream: LogStream): void {
    const current = this.open.get(stream);
    if (current === undefined) return;
    this.open.delete(stream);
    const line = Buffer.concat(current.parts).toString("utf8").replace(/\r$/, "");
    this.result.push({ t: current.t, stream, line });
  }
}
