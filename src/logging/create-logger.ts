import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";
import { readCorrelation } from "./correlation.js";
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
 * slips into a message, an error or a request dump is replaced before it is written. Every line
 * carries the delivery, task and job it belongs to (`runCorrelated`), unless it names them itself.
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
      mixin: addCorrelationFields,
      redact: { paths: ["req.headers.authorization", "headers.authorization", "*.token"], censor: "[REDACTED]" },
    },
    redacting,
  );
}

// A child logger that already binds a field (`log.child({ taskId })`) keeps its own, written once.
function addCorrelationFields(_fields: object, _level: number, logger: Logger): object {
  const correlation = readCorrelation();
  const names = Object.keys(correlation);
  if (names.length === 0) return {};
  const bound = logger.bindings();
  return Object.fromEntries(
    names.filter((name) => !(name in bound)).map((name) => [name, correlation[name as "taskId"]]),
  );
}
