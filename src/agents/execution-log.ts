/**
 * Turns a container's demultiplexed output into the execution log Foreman stores: JSONL,
 * one `{t, stream, line}` object per line, every line redacted, the whole capped. Pure.
 */
import type { Redactor } from "../logging/redact.js";
import type { LogLine, LogStream } from "./runner.js";

/** One stored log line. `t` is the engine's timestamp, or the collection time when it had none. */
export interface ExecutionLogEntry {
  readonly t: string;
  readonly stream: LogStream;
  readonly line: string;
}

/** The execution log of one job. */
export interface ExecutionLog {
  readonly entries: readonly ExecutionLogEntry[];
  /** The entries as JSONL (one JSON object per line, each ending in "\n"). */
  readonly jsonl: string;
  readonly truncated: boolean;
}

/** Caps of an execution log. */
export interface ExecutionLogOptions {
  readonly redact: Redactor;
  /** Time used for lines the engine did not timestamp. */
  readonly now: Date;
  readonly maxBytes?: number;
  readonly maxLineChars?: number;
}

// The JSONL cap is above the runner's raw capture (2 MiB) plus the per-line JSON overhead of
// typical output, so the runner's own head/tail cut is normally the only one.
const DEFAULTS = { maxBytes: 4 * 1024 * 1024, maxLineChars: 8 * 1024 } as const;

/** The default cap of a stored execution log, in bytes of JSONL (also the cap of a job's live log). */
export const EXECUTION_LOG_MAX_BYTES = DEFAULTS.maxBytes;
// Room kept for the truncation marker, so the log never exceeds maxBytes.
const MARKER_RESERVE = 256;

/**
 * Builds the redacted JSONL execution log from captured lines. Over the cap, the head and the
 * tail (a quarter of the budget: where an agent's last words are) are kept around a marker.
 */
export function buildExecutionLog(lines: readonly LogLine[], options: ExecutionLogOptions): ExecutionLog {
  const maxBytes = options.maxBytes ?? DEFAULTS.maxBytes;
  const maxLineChars = options.maxLineChars ?? DEFAULTS.maxLineChars;
  const fallbackTime = options.now.toISOString();
  const all = lines.map((line) => {
    const entry = buildLogEntry(line, { redact: options.redact, now: fallbackTime, maxLineChars });
    const json = `${JSON.stringify(entry)}\n`;
    return { entry, json, size: Buffer.byteLength(json) };
  });
  const total = all.reduce((sum, item) => sum + item.size, 0);
  if (total <= maxBytes) {
    return { entries: all.map((item) => item.entry), jsonl: all.map((item) => item.json).join(""), truncated: false };
  }
  const tailBudget = Math.floor(maxBytes / 4);
  const head = takeWithin(all, maxBytes - tailBudget - MARKER_RESERVE);
  const tail = takeWithin([...all.slice(head.length)].reverse(), tailBudget).reverse();
  const marker: ExecutionLogEntry = {
    t: fallbackTime,
    stream: "system",
    line: `[foreman] execution log truncated: ${all.length - head.length - tail.length} lines omitted (limit ${maxBytes} bytes)`,
  };
  const kept = [...head.map((item) => item.entry), marker, ...tail.map((item) => item.entry)];
  const jsonl = [
    ...head.map((item) => item.json),
    `${JSON.stringify(marker)}\n`,
    ...tail.map((item) => item.json),
  ].join("");
  return { entries: kept, jsonl, truncated: true };
}

/**
 * One log line as stored: redacted, then cut to `maxLineChars` (8 KiB unless told), timed by the
 * engine or else `now`. The execution log and the live lines a running job shows share it.
 */
export function buildLogEntry(
  line: LogLine,
  options: { redact: Redactor; now: string; maxLineChars?: number },
): ExecutionLogEntry {
  const maxLineChars = options.maxLineChars ?? DEFAULTS.maxLineChars;
  // Redact before cutting: a cut could split a secret and leave half of it unrecognised.
  const redacted = options.redact(line.line);
  const text = redacted.length > maxLineChars ? `${redacted.slice(0, maxLineChars)} …[line truncated]` : redacted;
  return { t: line.t ?? options.now, stream: line.stream, line: text };
}

function takeWithin<T extends { size: number }>(items: readonly T[], budget: number): T[] {
  const taken: T[] = [];
  let used = 0;
  for (const item of items) {
    if (used + item.size > budget) break;
    taken.push(item);
    used += item.size;
  }
  return taken;
}

/** The last `count` lines of a log as plain text, for failure messages. */
export function formatLogTail(log: ExecutionLog, count = 40): string {
  return log.entries
    .slice(-count)
    .map((entry) => (entry.stream === "stdout" ? entry.line : `[${entry.stream}] ${entry.line}`))
    .join("\n");
}
