/**
 * The agent container's output as the pod log API gives it (`timestamps=true`: one RFC 3339 time,
 * a space, the line), read into Foreman's log lines with the same head-and-tail byte cap as Docker's.
 * Kubernetes merges stdout and stderr, so every line is `stdout`. Pure.
 */
import type { CapturedLogs, LogLine } from "../runner.js";

/** Reads one line of the pod log API's output. */
export function readPodLogLine(raw: string): LogLine {
  const match = /^(\d{4}-\d\d-\d\dT\S+Z) (.*)$/s.exec(raw);
  return match === null
    ? { t: null, stream: "stdout", line: raw }
    : { t: match[1]!, stream: "stdout", line: match[2]! };
}

/** Splits the pod's whole log into lines, keeping at most `maxBytes` (the first and last halves). */
export function capturePodLog(text: string, maxBytes: number): CapturedLogs {
  const raw = text.split("\n");
  if (raw.at(-1) === "") raw.pop();
  const total = Buffer.byteLength(text);
  if (total <= maxBytes) return { lines: raw.map(readPodLogLine), omittedBytes: 0 };
  const half = Math.floor(maxBytes / 2);
  const head: string[] = [];
  let headBytes = 0;
  for (const line of raw) {
    const size = Buffer.byteLength(line) + 1;
    if (headBytes + size > half) break;
    head.push(line);
    headBytes += size;
  }
  const tail: string[] = [];
  let tailBytes = 0;
  for (let index = raw.length - 1; index >= head.length; index--) {
    const size = Buffer.byteLength(raw[index]!) + 1;
    if (tailBytes + size > half) break;
    tail.unshift(raw[index]!);
    tailBytes += size;
  }
  const omittedBytes = total - headBytes - tailBytes;
  return {
    lines: [
      ...head.map(readPodLogLine),
      { t: null, stream: "system", line: `[${omittedBytes} bytes of output omitted]` },
      ...tail.map(readPodLogLine),
    ],
    omittedBytes,
  };
}
