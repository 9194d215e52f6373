#!/usr/bin/env node
import { existsSync } from "node:fs";
import { EnvError, parseEnv } from "../config/env.js";
import { createLogger } from "../logging/create-logger.js";
import { openConfiguredDatabase } from "./open-configured-database.js";
import { serve } from "./serve.js";

const USAGE = `Usage: foreman <command>

Commands:
  serve     start the GitHub App (webhooks, worker); the setup page when no app is registered yet
  migrate   apply database migrations and exit`;

/** The `foreman` command line: parse the environment once, then run one command. */
async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === undefined || command === "help" || command === "--help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  // A local .env fills in what the environment does not set (it never overrides).
  if (existsSync(".env")) process.loadEnvFile(".env");
  const env = parseEnv(process.env);
  switch (command) {
    case "serve":
      await serve(env);
      return -1;
    case "migrate": {
      const log = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT, secrets: [] });
      const opened = await openConfiguredDatabase(env, log);
      await opened.close();
      console.log("migrations applied");
      return 0;
    }
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof EnvError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
