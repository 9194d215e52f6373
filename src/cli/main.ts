#!/usr/bin/env node
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { EnvError, parseEnv } from "../config/env.js";
import { CommandError } from "./command-error.js";
import { createLogger } from "../logging/create-logger.js";
import { FileArtifactStore, resolveArtifactsDir } from "../compliance/artifacts.js";
import { resolveVerifyingKeys } from "../chain/checkpoints.js";
import { runCheckpointCommand } from "./checkpoint.js";
import { runKeysCommand } from "./keys.js";
import { openConfiguredDatabase } from "./open-configured-database.js";
import { openDatabaseWithoutMigrating } from "./open-database-without-migrating.js";
import { runTokensCommand } from "./tokens.js";
import { runVerifyCommand, VERIFY_USAGE } from "./verify.js";
import { runPauseCommand } from "./pause.js";
import { runTasksCommand } from "./tasks.js";
import { runSettingsCommand } from "./settings.js";
import { runTemplatesCommand } from "./templates.js";

const USAGE = `Usage: foreman <command>

Commands:
  serve       start the GitHub App (webhooks, worker); the setup page when no app is registered yet
  migrate     apply database migrations and exit
  verify      check the compliance trail (foreman verify --help)
  tokens      create, list or revoke API tokens (foreman tokens create --name N --role admin|operator|auditor|viewer)
  keys        foreman keys generate: print a new Ed25519 key pair for signing checkpoints
  checkpoint  sign the compliance chain's head now
  pause       hold every task (foreman pause [--reason "…"] | --status); resume lifts it
  resume      lift a pause
  tasks       list, show, stop or retry tasks (foreman tasks --help)
  settings    show the global pause, the job limits and the runtime settings
  doctor      check the environment, database, Docker, agent images and the GitHub App, and say what to fix
  templates   foreman templates stats [--days N] [--repo owner/name] [--json]: outcomes per prompt template`;

/** The `foreman` command line: parse the environment once, then run one command. */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "help" || command === "--help") {
    console.log(USAGE);
    return command === undefined ? 2 : 0;
  }
  // Generating a key needs no settings, so a half-configured environment cannot get in the way.
  if (command === "keys") return runKeysCommand(args, (text) => console.log(text));
  // A local .env fills in what the environment does not set (it never overrides).
  if (existsSync(".env")) process.loadEnvFile(".env");
  // The doctor reports a bad environment as one of its checks instead of stopping at it.
  // serve and doctor load the whole app (Probot, the engine, the dashboard, tracing): only they pay for it.
  if (command === "doctor") {
    const { runDoctorCommand } = await import("./doctor.js");
    return runDoctorCommand(args, {
      environment: process.env,
      out: (text) => console.log(text),
      progress: (text) => console.error(text),
      progressByDefault: process.stderr.isTTY === true,
    });
  }
  const env = parseEnv(process.env);
  switch (command) {
    case "serve": {
      const { serve } = await import("./serve.js");
      await serve(env);
      return -1;
    }
    case "migrate": {
      const log = createLogger({ level: env.LOG_LEVEL, format: env.LOG_FORMAT, secrets: [] });
      const opened = await openConfiguredDatabase(env, log);
      await opened.close();
      console.log("migrations applied");
      return 0;
    }
    case "verify": {
      if (args.includes("--help")) {
        console.log(VERIFY_USAGE);
        return 0;
      }
      const opened = await openDatabaseWithoutMigrating(env);
      try {
        const deps = {
          sql: opened.database.sql,
          artifacts: new FileArtifactStore(resolveArtifactsDir(env)),
          publicKeys: resolveVerifyingKeys(env),
        };
        return await runVerifyCommand(args, {
          ...deps,
          out: (text) => console.log(text),
          progress: {
            write: writeProgress,
            // A progress line redrawn in place is ended before the report.
            done: () => (process.stderr.isTTY ? process.stderr.write("\n") : undefined),
            byDefault: process.stderr.isTTY === true,
          },
        });
      } finally {
        await opened.close();
      }
    }
    case "pause":
    case "resume": {
      const log = createLogger({ level: "warn", format: env.LOG_FORMAT, secrets: [] });
      const opened = await openConfiguredDatabase(env, log);
      try {
        return await runPauseCommand(command, args, {
          sql: opened.database.sql,
          out: (text) => console.log(text),
          pausedByEnv: env.FOREMAN_PAUSED,
        });
      } finally {
        await opened.close();
      }
    }
    case "tasks": {
      const log = createLogger({ level: "warn", format: env.LOG_FORMAT, secrets: [] });
      const opened = await openConfiguredDatabase(env, log);
      try {
        return await runTasksCommand(args, {
          sql: opened.database.sql,
          out: (text) => console.log(text),
          osUser: findOsUser(),
          webBaseUrl: env.GHE_HOST ? `${env.GHE_PROTOCOL}://${env.GHE_HOST}` : "https://github.com",
          ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
        });
      } finally {
        await opened.close();
      }
    }
    case "settings": {
      const log = createLogger({ level: "warn", format: env.LOG_FORMAT, secrets: [] });
      const opened = await openConfiguredDatabase(env, log);
      try {
        return await runSettingsCommand(args, { sql: opened.database.sql, out: (text) => console.log(text), env });
      } finally {
        await opened.close();
      }
    }
    case "templates": {
      const opened = await openDatabaseWithoutMigrating(env);
      try {
        return await runTemplatesCommand(args, {
          sql: opened.database.sql,
          out: (text) => console.log(text),
          now: new Date(),
        });
      } finally {
        await opened.close();
      }
    }
    case "tokens":
    case "checkpoint": {
      const log = createLogger({ level: "warn", format: env.LOG_FORMAT, secrets: [] });
      const opened = await openConfiguredDatabase(env, log);
      try {
        const out = (text: string) => console.log(text);
        return command === "tokens"
          ? await runTokensCommand(args, { sql: opened.database.sql, out })
          : await runCheckpointCommand(env, opened.database.sql, out);
      } finally {
        await opened.close();
      }
    }
    default:
      console.error(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

/** One progress line on stderr: redrawn in place on a terminal, one line each otherwise (a log file). */
function writeProgress(text: string): void {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`);
  else process.stderr.write(`${text}\n`);
}

/** The OS user running the command, the operator's name in compliance records unless `--as` names another. */
function findOsUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    if (error instanceof EnvError || error instanceof CommandError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
