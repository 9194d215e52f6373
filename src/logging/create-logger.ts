import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import { buildRedactor } from "./redact.js";

/** Logger settings from the environment. */
export interface LoggerOptions {
  level: string;
  format?: "json" | "pretty" | undefined;
  /** Secret values (webhook secret, database password…) that must never appear in a log line. */
  secrets: readonly string[];
  /** Where lines go; stdout by default (through pino-pretty with format "pretty"). */
  destination?: NodeJS.WritableStream;
}

/**
 * The process logger. Every line passes through the redactor at the stream, so a token that
 * slips into a message, an error or a request dump is replaced before it is written.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ?? (options.format === "pretty" ? pretty({ colorize: true }) : process.stdout);
  const redact = buildRedactor(options.secrets);
  const redacting = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      destination.write(redact(chunk.toString("utf8")));
      callback();
    },
  });
  return pino(
    {
      level: options.level,
      redact: { paths: ["req.headers.authorization", "headers.authorization", "*.token"], censor: "[REDACTED]" },
    },
    redacting,
  );
}
