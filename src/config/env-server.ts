/**
 * The environment's server part: where the process listens, how it logs, and where its traces go.
 * Composed into `Env` by env.ts.
 */
import { z } from "zod";
import { intInRange, optionalText } from "./env-fields.js";

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** The HTTP server, the logs and the OpenTelemetry traces. */
export const ServerEnv = z.object({
  // Unset: the app binds 0.0.0.0 (containers), the setup page without APP_ID 127.0.0.1 (`serve.ts`).
  HOST: optionalText,
  // 0 lets the system choose a free port (tests do; the bound port is logged and is `server.port`).
  PORT: intInRange(0, 65535, "must be a TCP port, 0-65535 (0: any free port)", 3000),
  LOG_LEVEL: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
  LOG_FORMAT: z.enum(["json", "pretty"], { error: "must be json or pretty" }).optional(),
  NODE_ENV: z.string().default("development"),
  /** OpenTelemetry traces over OTLP/HTTP (docs/operations.md#traces): off unless one of the endpoints is set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ error: "must be a URL such as http://collector:4318" }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ error: "must be a URL such as http://collector:4318/v1/traces" })
    .optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default("foreman"),
});

/** The parsed server settings. */
export type ServerEnv = z.infer<typeof ServerEnv>;
