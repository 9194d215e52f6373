import { run } from "probot";
import { hasAppCredentials, listSecretValues, type Env } from "../config/env.js";
import { createLogger } from "../logging/create-logger.js";
import { buildForeman } from "../main.js";
import { buildTracesUrl } from "../telemetry/build-traces-url.js";
import { openConfiguredDatabase } from "./open-configured-database.js";

/**
 * Where Probot's setup page listens: only on this machine (127.0.0.1) unless `HOST` is set, since
 * whoever reaches it first registers the GitHub App and gets its credentials.
 */
export function buildSetupPageEnv(env: Pick<Env, "HOST" | "PORT">): { HOST: string; PORT: string } {
  return { HOST: env.HOST ?? "127.0.0.1", PORT: String(env.PORT) };
}

/**
 * `foreman serve`: start the app. Without app credentials it serves Probot's setup page, which
 * registers a GitHub App from `app.yml` and writes the credentials to `.env`; restart afterwards.
 */
export async function serve(env: Env): Promise<void> {
  const log = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT, secrets: listSecretValues(env) });
  if (!hasAppCredentials(env)) {
    log.info("No APP_ID yet: open the printed URL to register Foreman from app.yml, then restart `npm start`.");
    await run(() => {}, { env: { ...process.env, ...buildSetupPageEnv(env) } });
    return;
  }
  // Traces over OTLP, when an endpoint is configured (docs/operations.md#traces).
  const tracesUrl = buildTracesUrl(env.OTEL_EXPORTER_OTLP_ENDPOINT, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  // The SDK and its exporter are loaded only then (~15 MB of RSS otherwise spent for nothing).
  const tracing = tracesUrl
    ? (await import("../telemetry/start-tracing.js")).startTracing({ tracesUrl, serviceName: env.OTEL_SERVICE_NAME })
    : null;
  // 1. The database (embedded unless DATABASE_URL is set), migrated.
  const opened = await openConfiguredDatabase(env, log);
  // 2. Probot, the webhook handlers and the engine.
  const foreman = await buildForeman({ env, database: opened.database, log });
  // 3. Listen, then work.
  await foreman.start();
  log.info({ port: foreman.server.port, embeddedPostgres: opened.embedded }, "Foreman is running");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping: no new webhooks, finishing work in flight");
    await foreman.stop();
    await opened.close();
    await tracing?.shutdown();
    log.info("stopped cleanly");
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}
