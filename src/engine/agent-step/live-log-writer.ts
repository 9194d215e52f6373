/**
 * The live log of a running job: the container's redacted lines, stored in batches (every
 * `flushMs`, or at once when `maxLines` wait) so that followers of the job's log see them before
 * the job ends. Bounded: past `maxBytes` one note is stored and later lines are not.
 */
import type { ExecutionLogEntry } from "../../agents/execution-log.js";
import type { SqlClient } from "../../db/client.js";
import { insertAgentJobLogLines } from "../../db/queries/insert-agent-job-log-lines.js";
import type { Redactor } from "../../logging/redact.js";

/** Where and how a job's live lines are stored. */
export interface LiveLogSettings {
  readonly sql: SqlClient;
  readonly jobId: string;
  readonly attempt: number;
  /** Foreman's own secrets, redacted from each line as the stored log is. */
  readonly redact: Redactor;
  /** The most bytes of JSONL stored for one attempt (the execution log's cap). */
  readonly maxBytes: number;
  readonly flushMs: number;
  readonly maxLines: number;
  readonly onError: (error: unknown) => void;
}

/** Collects a running job's lines and stores them in batches. */
export interface LiveLogWriter {
  add(entry: ExecutionLogEntry): void;
  /** Stores what waits and stops: lines added after it are dropped. */
  close(): Promise<void>;
}

/** Creates the live log writer of one job attempt. */
export function createLiveLogWriter(settings: LiveLogSettings): LiveLogWriter {
  let waiting: string[] = [];
  let bytes = 0;
  let full = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  // Batches are stored one after another, so they keep their order.
  let chain: Promise<void> = Promise.resolve();

  function flush(): void {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (waiting.length === 0) return;
    const batch = waiting;
    waiting = [];
    chain = chain
      .then(() => insertAgentJobLogLines(settings.sql, settings.jobId, settings.attempt, batch))
      .catch(settings.onError);
  }

  return {
    add(entry) {
      if (closed || full) return;
      const json = JSON.stringify({ ...entry, line: settings.redact(entry.line) });
      const size = Buffer.byteLength(json) + 1;
      if (bytes + size > settings.maxBytes) {
        full = true;
        const note = `[foreman] live log stopped at ${settings.maxBytes} bytes; the whole log is stored when the job ends`;
        waiting.push(JSON.stringify({ t: entry.t, stream: "system", line: note }));
        flush();
        return;
      }
      bytes += size;
      waiting.push(json);
      if (waiting.length >= settings.maxLines) flush();
      else timer ??= setTimeout(flush, settings.flushMs);
    },
    async close() {
      closed = true;
      flush();
      await chain;
    },
  };
}
